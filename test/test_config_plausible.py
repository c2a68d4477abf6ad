"""Valid numbers that make no physical sense are refused in one line that says why: every
vehicle figure, rate, duration, latency, timeout, range and position has a plausible range
(swarm_ros/core/plausible.py), formation centres and waypoints lie inside the geofence, and
drones start on the ground. Every shipped mission, fleet and platform still loads."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from swarm_ros.core.configfile import ConfigError
from swarm_ros.core.plausible import RANGES
from swarm_ros.core.vehicle import VehicleParams
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "test" / "config_errors"
MISSION = (CORPUS / "valid_mission_own_files.yaml").read_text()
FLEET = (CORPUS / "valid_fleet.yaml").read_text()


def _load(tmp_path, mission: str = MISSION, fleet: str = FLEET):
    for name in ("valid_world.yaml",):
        (tmp_path / name).write_text((CORPUS / name).read_text())
    (tmp_path / "valid_fleet.yaml").write_text(fleet)
    (tmp_path / "m.yaml").write_text(mission)
    return load_mission(tmp_path / "m.yaml")


def _refused(tmp_path, **files) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, **files)
    msg = str(info.value)
    assert "\n" not in msg and "; allowed: " in msg, msg
    return info.value


def test_the_baseline_loads(tmp_path):
    assert _load(tmp_path).name == "broken"


# (what the issue found accepted, the replacement, the field, words the reason must hold)
MISSION_CASES = [
    ("land: {duration: 6}", "land: {duration: 6, speed: 1.0e-300}", "phases.land.speed",
     "is below 0.05 m/s, the drone would never land"),
    ("land: {duration: 6}", "land: {duration: 6, speed: 500}", "phases.land.speed", "a crash"),
    ("duration: 30", "duration: 1.0e+12", "duration", "would never end"),
    ("takeoff: {altitude: 1.0, duration: 4}", "takeoff: {altitude: 1.0, duration: 4, speed: 1.0e-9}",
     "phases.takeoff.speed", "never reach its altitude"),
]
RADIO_CASES = [
    ("radio: {latency: 1.0e+9}", "radio.latency", "long after"),
    ("radio: {neighbour_timeout: 1.0e-300}", "radio.neighbour_timeout", "blind"),
    ("radio: {range: 1.0e-300}", "radio.range", "blind"),
    ("sim: {speed: 1.0e+9}", "sim.speed", "keeps up"),
]
FLEET_CASES = [
    ("mass", "1.0e+300", "heavier than any"), ("max_speed", "1.0e+300", "faster than any"),
    ("body_radius", "1.0e-300", "collisions would go unseen"), ("radio_range", "1.0e-300", "blind"),
    ("max_descent", "0.001", "never land"), ("max_accel", "1.0e+6", "thrust"),
    ("response_time", "0", "faster than any motor"), ("sensing_range", "1.0e+7", "beyond any"),
]


@pytest.mark.parametrize("old,new,field,reason", MISSION_CASES, ids=[c[2] + "=" + c[1].split()[-1] for c in MISSION_CASES])
def test_implausible_mission_figures(tmp_path, old, new, field, reason):
    assert old in MISSION
    err = _refused(tmp_path, mission=MISSION.replace(old, new))
    assert err.path == field and reason in err.problem and err.file.endswith("m.yaml")


@pytest.mark.parametrize("line,field,reason", RADIO_CASES, ids=[c[1] for c in RADIO_CASES])
def test_implausible_radio_and_sim_figures(tmp_path, line, field, reason):
    err = _refused(tmp_path, mission=MISSION + line + "\n")
    assert err.path == field and reason in err.problem


@pytest.mark.parametrize("key,value,reason", FLEET_CASES, ids=[c[0] for c in FLEET_CASES])
def test_implausible_vehicle_figures(tmp_path, key, value, reason):
    fleet = FLEET.replace("cf1: {type: cf, start", f"cf1: {{type: cf, {key}: {value}, start")
    err = _refused(tmp_path, fleet=fleet)
    assert err.path == f"drones.cf1.{key}" and reason in err.problem and err.file.endswith("valid_fleet.yaml")


@pytest.mark.parametrize("center", ["[0, 0, -50]", "[0, 0, 1000000]", "[500, 0, 2]"])
def test_a_formation_centre_outside_the_geofence_is_refused(tmp_path, center):
    mission = MISSION.replace("center: [0, 0, 1.5]", f"center: {center}")
    assert mission != MISSION
    err = _refused(tmp_path, mission=mission)
    assert err.path.endswith("params.center") and "outside the geofence" in err.problem


def test_a_start_in_the_air_is_refused(tmp_path):
    fleet = FLEET.replace("cf1: {type: cf, start: [-1.5, -7, 0]}", "cf1: {type: cf, start: [-1.5, -7, 5.9]}")
    err = _refused(tmp_path, fleet=fleet)
    assert err.path == "drones.cf1.start" and "above the ground" in err.problem


def test_a_start_a_little_above_the_ground_is_fine(tmp_path):
    fleet = FLEET.replace("cf1: {type: cf, start: [-1.5, -7, 0]}", "cf1: {type: cf, start: [-1.5, -7, 0.3]}")
    assert _load(tmp_path, fleet=fleet).fleet.by_name("cf1").start[2] == 0.3


def test_every_vehicle_figure_has_a_range_with_reasons():
    assert {f.name for f in fields(VehicleParams)} <= set(RANGES)
    for key, r in RANGES.items():
        assert 0 <= r.lo < r.hi and r.unit and r.high, key
        assert r.low or r.lo == 0, key


def test_an_implausible_platform_figure_names_the_platform_file(tmp_path):
    from swarm_ros.core.platforms import read_platform
    text = (REPO / "config" / "platforms" / "crazyflie_2.1.yaml").read_text().replace("mass: 0.027", "mass: 1.0e+300")
    (tmp_path / "heavy.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        read_platform(tmp_path / "heavy.yaml")
    assert info.value.path == "body.mass" and "heavier than any" in info.value.problem


@pytest.mark.parametrize("mission", sorted(p.name for p in (REPO / "config" / "missions").glob("*.yaml")))
def test_every_shipped_mission_still_loads(mission):
    assert load_mission(REPO / "config" / "missions" / mission).duration > 0


def test_every_shipped_platform_still_loads():
    from swarm_ros.core.platforms import read_platform
    files = [*(REPO / "config" / "platforms").glob("*.yaml"), *(REPO / "examples").rglob("platforms/*.yaml")]
    assert len(files) >= 3
    for f in files:
        read_platform(f)


def test_cli_check_prints_the_reason_in_one_line(tmp_path):
    mission = MISSION.replace("land: {duration: 6}", "land: {duration: 6, speed: 1.0e-300}")
    _load(tmp_path)                      # the baseline's files beside it
    (tmp_path / "m.yaml").write_text(mission)
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "check", str(tmp_path / "m.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "never land" in out.stderr
