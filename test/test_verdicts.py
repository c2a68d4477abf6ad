"""Honest verdicts: "mission OK" only when every drone landed where the mission says (on the
ground and still, within LAND_TOLERANCE of its pad or landing point), with no collision and no
geofence violation; otherwise the verdict names what failed, and a failed mission exits 3 (late
commands alone only with `--strict`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swarm_ros.report import LAND_TOLERANCE, exit_code, verdict

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "test" / "config_errors"


def _summary(**drone_overrides):
    drones = [{"name": n, "landed": True, "land_error": 0.0, "position": [0, 0, 0.0]} for n in ("cf1", "x1")]
    for name, values in drone_overrides.items():
        next(d for d in drones if d["name"] == name).update(values)
    return {"drones": drones, "collisions": 0, "geofence_violations": 0, "ticks": 100}


def test_all_landed_is_ok():
    assert verdict(_summary()) == ("mission OK", True)


def test_a_drone_in_the_air_fails_and_is_named():
    said, ok = verdict(_summary(x1={"landed": False, "position": [1, 2, 2.5]}))
    assert not ok and said == "MISSION FAILED: x1 did not land (at 2.50 m)"


def test_a_drone_down_in_the_wrong_place_fails():
    said, ok = verdict(_summary(cf1={"land_error": LAND_TOLERANCE + 0.4}))
    assert not ok and "cf1 landed 0.90 m from its landing point" in said


def test_safety_failures_are_counted_in_the_verdict():
    s = _summary(x1={"landed": False})
    s.update(collisions=2, geofence_violations=1)
    said, ok = verdict(s)
    assert not ok and said.startswith("SAFETY VIOLATIONS: 2 collisions, 1 geofence violation") and "x1" in said


def test_a_summary_without_landing_figures_keeps_its_verdict():
    """Summaries from before (or from other runners) without land_error are judged as before."""
    s = _summary()
    for d in s["drones"]:
        del d["land_error"]
    assert verdict(s)[1]


def test_a_failed_mission_exits_3_and_late_commands_only_with_strict():
    landed = _summary()
    assert exit_code(landed) == exit_code(landed, strict=True) == 0
    for failed in (_summary(x1={"landed": False}), {**landed, "collisions": 1},
                   {**landed, "lost": [{"name": "cf1", "t": 3.0, "rejoined": None}]},
                   {**landed, "lost_services": [{"name": "planner", "t": 3.0}]}, {**landed, "data_lost": {"/cf1/odom": 4}}):
        assert exit_code(failed) == exit_code(failed, strict=True) == 3, verdict(failed)
    late = {**landed, "late_ticks": 5}                   # 5 of 200 drone-ticks: "flew, but late"
    assert not verdict(late)[1] and "late" in verdict(late)[0]
    assert exit_code(late) == 0 and exit_code(late, strict=True) == 3


def _headless(mission: Path, tmp_path, *extra):
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "headless", str(mission), "--json",
                          str(tmp_path / "s.json"), *extra], capture_output=True, text=True, timeout=300)
    return out, json.loads((tmp_path / "s.json").read_text())


def test_first_flight_lands_every_drone_and_says_ok(tmp_path):
    out, s = _headless(REPO / "config" / "missions" / "first_flight.yaml", tmp_path, "--strict")
    assert out.returncode == 0 and "mission OK" in out.stdout, out.stdout[-2000:]
    assert all(d["landed"] and d["land_error"] <= LAND_TOLERANCE for d in s["drones"])


def test_a_landing_cut_short_exits_3(tmp_path):
    for name in ("valid_world.yaml", "valid_fleet.yaml"):
        (tmp_path / name).write_text((CORPUS / name).read_text())
    text = (CORPUS / "valid_mission_own_files.yaml").read_text()
    mission = tmp_path / "m.yaml"
    mission.write_text(text.replace("land: {duration: 6}", "land: {duration: 1}").replace("duration: 30", "duration: 12"))
    out, s = _headless(mission, tmp_path)
    assert out.returncode == 3, out.stdout[-2000:]
    assert "MISSION FAILED: " in out.stdout and "did not land" in out.stdout
    assert not all(d["landed"] for d in s["drones"])
