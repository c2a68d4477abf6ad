"""Terminal tables as a user reads them: no "nan" or "inf" where a value is missing, and the
summary's verdict and columns say what they mean."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from rich.console import Console

from conftest import REPO
from swarm_ros.analysis.compare import comparison
from swarm_ros.deploy import make_backends, preflight_table, status_table
from swarm_ros.hardware.preflight import VehicleCheck
from swarm_ros.mission import load_mission
from swarm_ros.report import cell, summary_table

FIRST_FLIGHT = REPO / "config" / "missions" / "first_flight.yaml"


def text(renderable) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def words(rendered: str) -> set[str]:
    return set(rendered.replace("|", " ").replace("│", " ").lower().split())


def summary(n_drones: int = 2, *, late: int = 0, ticks: int = 1000, mode: str = "real time", collisions: int = 0,
            min_separation: float = 1.234) -> dict:
    """A summary as the simulator node publishes it (the keys summary_table reads)."""
    per = [late // n_drones + (k < late % n_drones) for k in range(n_drones)]
    return {"mission": "m", "sim_time": ticks / 50, "ticks": ticks, "rtf": 1.0, "mode": mode,
            "collisions": collisions, "geofence_violations": 0, "min_separation": min_separation,
            "late_ticks": late, "radio": {"sent": 10, "delivered": 9, "lost": 1},
            "drones": [{"name": f"cf{k}", "type": "cf", "role": "ring", "distance": 3.0,
                        "min_separation": min_separation, "collisions": 0, "geofence_violations": 0,
                        "late_ticks": per[k], "landed": True} for k in range(n_drones)]}


def test_cell_never_shows_nan_or_inf():
    assert [cell(v, "{:.2f}") for v in (None, math.nan, math.inf, -math.inf, 1.5)] == ["-", "-", "-", "-", "1.50"]
    assert cell(3, "{:d}") == "3" and cell(None, missing="n/a") == "n/a"


def test_preflight_table_shows_an_unreachable_vehicle_without_nan():
    unreachable = VehicleCheck("cf3", "crazyflie", "udp://127.0.0.1:1", ["no vehicle answers there"])
    good = VehicleCheck("cf1", "crazyflie", "udp://127.0.0.1:2", battery=87.0, position=[1.0, 2.0, 0.0],
                        failsafe=(1.0, 2.5), connected=True)
    low = VehicleCheck("cf2", "crazyflie", "udp://127.0.0.1:3", ["battery 10 %"], battery=10.0,
                       position=[0.0, 0.0, 0.0], failsafe=(1.0, math.nan), connected=True)
    out = text(preflight_table([good, low, unreachable]))
    assert not words(out) & {"nan", "inf", "nan/nan"}, out
    rows = {name: next(line for line in out.splitlines() if name in line) for name in ("cf1", "cf2", "cf3")}
    assert "87 %" in rows["cf1"] and "1 / 2.5 s" in rows["cf1"] and "ok" in rows["cf1"]
    assert "1 / - s" in rows["cf2"] and "FAIL" in rows["cf2"]
    assert "unreachable" in rows["cf3"] and "FAIL" not in rows["cf3"]


def test_status_table_of_vehicles_that_have_not_reported():
    """Backends that never connected have no battery or position yet: "-", not "nan"."""
    mission = load_mission(FIRST_FLIGHT)
    backends = make_backends(mission, "mixed")
    bridge = SimpleNamespace(t=0.0, late=[0] * len(backends))
    out = text(status_table(mission, backends, bridge, "takeoff"))
    assert all(name in out for name in mission.fleet.names)
    assert "nan" not in words(out), out


def test_summary_of_a_single_drone_has_no_inf():
    out = text(summary_table(summary(1, min_separation=math.inf)))
    assert "inf" not in out.lower() and "nan" not in words(out), out
    assert "minimum separation n/a (one drone)" in out


def test_comparison_rows_show_missing_values_as_n_a():
    run = {"bag": "a", "drones": [{"distance": 1.0}], "grid": {"duration": 10.0},
           "separation": {"min": math.inf}, "polarization": {"mean": math.nan}}
    comp = comparison(run, dict(run, bag="b", separation={"min": 0.5}))
    rows = {r["metric"]: r["text"] for r in comp["rows"]}
    assert all(r["b_minus_a"] is None or math.isfinite(r["b_minus_a"]) for r in comp["rows"])
    assert rows["minimum separation"] == ["n/a", "0.500", "n/a"]
    assert rows["polarization, mean"] == ["n/a", "n/a", "n/a"]
    assert rows["duration"] == ["10.0", "10.0", "0.0"]


@pytest.mark.parametrize("n", [2, 3])
def test_summary_table_rows(n):
    out = text(summary_table(summary(n)))
    assert sum(f"cf{k}" in out for k in range(n)) == n and "1.234" in out
