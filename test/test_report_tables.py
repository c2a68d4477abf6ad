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
from swarm_ros.report import cell, late_fraction, summary_table, verdict

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


def test_late_commands_over_one_percent_are_not_mission_ok():
    late = summary(2, late=240, ticks=1000)              # 12 % of 2000 drone-ticks
    assert verdict(late) == ("mission flew, but 12 % of commands were late (more than 1 %)", False)
    assert verdict(summary(2, late=30, ticks=1000)) == ("mission flew, but 1.5 % of commands were late "
                                                        "(more than 1 %)", False)
    assert verdict(summary(2, late=20, ticks=1000)) == ("mission OK", True)      # exactly 1 %: tolerated
    assert verdict(summary(2, late=0, collisions=1)) == ("SAFETY VIOLATIONS: 1 collision", False)
    assert late_fraction(summary(4, late=10, ticks=50)) == pytest.approx(0.05)
    out = text(summary_table(late))
    assert "mission flew, but 12 % of commands were late" in out and "mission OK" not in out
    assert "late commands: 240 of 2000 drone-ticks (12 %)" in out


def test_late_column_is_explained():
    out = text(summary_table(summary(2, late=3)))
    assert " late " in next(line for line in out.splitlines() if " drone " in line)
    caption = " ".join(out.split())
    assert "late: ticks at which the drone's command reached the simulator after its tick" in caption
    assert "mission OK" in out


def test_headless_summary_has_no_late_column():
    """Headless runs step the controllers in process: no command can be late, so no column or caption."""
    s = summary(2)
    for key in ("late_ticks", "rtf", "mode"):
        s.pop(key)
    for d in s["drones"]:
        d.pop("late_ticks")
    out = text(summary_table(s))
    assert "late" not in out and "mission OK" in out
