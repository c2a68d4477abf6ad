"""Separation and order figures over the task phase, with the pads and take-off/landing apart,
in the live run metrics, the summary table and the bag analysis alike.

Two drones start on pads 0.5 m apart, spread to 2 m while taking off, close to 1.2 m in the task
and to 0.8 m while landing: over the whole run the minimum is the pad layout, which says nothing
about how the mission flew."""
from __future__ import annotations

import json

import numpy as np
import pytest
from bagfactory import drones_metadata, write_bag
from rich.console import Console

from sim.metrics import SwarmMetrics
from sim.world import World
from swarm_ros.analysis.metrics import analyze
from swarm_ros.mission import Phases
from swarm_ros.report import summary_table

PHASES = Phases(takeoff_altitude=1.0, takeoff_duration=2.0, takeoff_speed=0.5, land_duration=2.0, land_speed=0.5,
                land_at="here", duration=10.0)
T = np.round(np.arange(0.0, 10.0, 0.02), 10)
CF = "crazyflie_2.1"


def flight():
    """(T, 2, 3) positions: separation 0.5 -> 2.0 (take-off) -> 1.2 at t = 5 -> 2.0 -> 0.8 (landing)."""
    sep = np.interp(T, [0, 2, 5, 8, 10], [0.5, 2.0, 1.2, 2.0, 0.8])
    z = np.interp(T, [0, 2, 8, 10], [0.0, 1.0, 1.0, 0.0])
    a = np.stack([-sep / 2, np.zeros_like(T), z], axis=1)
    return np.stack([a, a * [-1, 1, 1]], axis=1)


def test_live_metrics_keep_the_phases_apart():
    pos = flight()
    m = SwarmMetrics([0.07, 0.07], World("open", (-5, -5, 0), (5, 5, 4)), pos[0], PHASES)
    for k in range(1, len(T)):
        m.update(T[k], pos[k])
    figures = m.separations()
    assert figures["min_separation"] == pytest.approx(1.2, abs=1e-9)                 # the task phase
    assert figures["min_separation_pads"] == pytest.approx(0.5, abs=1e-9)
    assert figures["min_separation_takeoff_landing"] == pytest.approx(0.5 + 1.5 * 0.02 / 2, abs=1e-9)
    assert m.drone_separations(1) == figures
    assert SwarmMetrics([0.07, 0.07], m.world, pos[0]).min_separation.tolist() == [np.inf, np.inf]


def test_summary_table_reports_the_task_phase_with_pads_and_takeoff_landing_apart():
    summary = {"mission": "m", "sim_time": 10.0, "ticks": 500, "collisions": 0, "geofence_violations": 0,
               "min_separation": 1.2, "min_separation_takeoff_landing": 0.515, "min_separation_pads": 0.5,
               "radio": {"sent": 1, "delivered": 1, "lost": 0},
               "drones": [{"name": n, "type": "cf", "role": "r", "distance": 1.0, "min_separation": 1.2,
                           "min_separation_takeoff_landing": 0.515, "min_separation_pads": 0.5, "collisions": 0,
                           "geofence_violations": 0, "landed": True} for n in ("a", "b")]}
    console = Console(record=True, width=200, color_system=None)
    console.print(summary_table(summary))
    out = console.export_text()
    assert ("minimum separation 1.200 m in the task phase (take-off and landing 0.515 m, on the pads 0.500 m)"
            in out), out
    assert "min sep task (m)" in out


@pytest.mark.parametrize("with_bounds", [True, False])
def test_analysis_takes_separation_and_order_over_the_task_phase(tmp_path, with_bounds):
    pos = flight()
    meta = drones_metadata({"a": CF, "b": CF})
    if with_bounds:
        meta["phases"] = json.dumps({"takeoff_end": PHASES.takeoff_end, "task_end": PHASES.task_end})
    an = analyze(write_bag(tmp_path / "bag", T, {"a": pos[:, 0], "b": pos[:, 1]}, "mcap", meta))
    m = an.metrics
    sep = m["separation"]
    if not with_bounds:            # a bag that does not say where the phases are: the whole run, labelled so
        assert sep["phase"] == "whole run" and sep["min"] == pytest.approx(0.5) and not m["phases"]["available"]
        return
    assert sep["phase"] == "task" and m["phases"] == {"task": [2.0, 8.0], "source": "bag metadata"}
    assert sep["min"] == pytest.approx(1.2, abs=1e-9) and sep["t"] == pytest.approx(5.0)
    assert sep["pads_min"] == pytest.approx(0.5) and sep["takeoff_landing_min"] == pytest.approx(0.515, abs=1e-3)
    for d in m["drones"]:
        assert d["min_separation"] == pytest.approx(1.2, abs=1e-9) and d["min_separation_pads"] == pytest.approx(0.5)
    # the drones fly apart or together along x in the task (polarization 0, but for the step at each
    # phase bound, whose central difference still sees the climb); the take-off climb and the landing
    # descent are shared headings that the task's mean must not include
    whole = np.nanmean(an.series["polarization"])
    assert m["polarization"]["mean"] < 0.02 and whole > 0.3
    assert m["polarization"]["steps"] == int(np.isfinite(an.series["polarization"][(T >= 2) & (T < 8)]).sum())
