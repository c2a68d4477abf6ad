"""FISC-like missions: a small fleet flies the law drone by drone (contract controller, beacons
as the sensed neighbours) through the nozzle of config/missions/fisc_nozzle.yaml, headless."""
from pathlib import Path

import numpy as np
import pytest

from swarm_ros.headless import fly
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def nozzle_flight():
    m = load_mission(REPO / "config" / "missions" / "fisc_nozzle.yaml")
    ch = m.roles["fluid"].params.channel
    seen = {"clear": np.inf, "x_end": None}

    def watch(sim, _cmd):
        if m.phases.takeoff_end <= sim.t < m.phases.task_end:
            seen["clear"] = min(seen["clear"], float(ch.clearance(sim.position[:, :2]).min()))
        if abs(sim.t - (m.phases.task_end - m.dt)) < 1e-9:
            seen["x_end"] = sim.position[:, 0].copy()
    sim = fly(m, on_tick=watch)
    return m, ch, sim.summary(), seen


def test_small_fleet_flows_through_the_nozzle_safely(nozzle_flight):
    m, ch, s, seen = nozzle_flight
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    assert s["min_separation"] > 2 * 0.07                  # never closer than two Crazyflie radii
    assert all(d["landed"] for d in s["drones"])
    assert seen["clear"] > 0.05                            # no drone left the walls during the task
    x = seen["x_end"]
    assert np.count_nonzero(x > ch.stations[3]) >= 9       # past the throat (from the inlet, x <= 1.3)
    assert np.count_nonzero(x > ch.length) >= 6            # and most out of the exit


def test_fisc_role_params_are_bound_from_the_mission(nozzle_flight):
    m, ch, _, _ = nozzle_flight
    p = m.roles["fluid"].params
    assert ch.throat_width == 1.2 and ch.inlet_zone == 1.6 and p.fisc.spacing == 0.4 and p.fisc.inlet_compression == 0.3 and p.altitude == 1.0
