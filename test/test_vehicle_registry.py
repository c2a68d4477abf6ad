"""Vehicles are data and backends are plugins: platform files found by name (built-in, plugin,
beside the fleet or mission), the autopilot they name decides everything the platform's name
used to, and physics / hardware backends are found through entry points or module:Class."""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from swarm_ros import hardware, physics
from swarm_ros.core import plugins
from swarm_ros.core.configfile import ConfigError
from swarm_ros.core.vehicle import Airframe, VehicleParams
from swarm_ros.fleet import load_fleet
from swarm_ros.headless import fly
from swarm_ros.hardware.links import check_uri, fleet_links
from swarm_ros.mission import load_mission
from swarm_ros.core.platforms import PLATFORMS, find_platform, platform_files, read_platform

REPO = Path(__file__).resolve().parent.parent
BUILTIN = REPO / "config" / "platforms"
RPM = 60.0 / (2.0 * math.pi)


@pytest.mark.parametrize("module, builtins", [
    (physics, {"pointmass": physics.PointMass, "pybullet": physics.PyBullet}),
    (hardware, {"crazyflie": "swarm_ros.hardware.crazyflie:CrazyflieBackend", "px4": "swarm_ros.hardware.px4:Px4Backend"}),
])
def test_builtins_register_through_entry_points_like_any_plugin(module, builtins):
    found = plugins.installed(module.GROUP)
    assert list(found)[:len(builtins)] == list(builtins)
    for name, target in builtins.items():
        assert found[name].value == (target if isinstance(target, str) else f"{target.__module__}:{target.__name__}")


def test_builtin_platforms_keep_the_figures_they_had_in_code():
    """The numbers once hard-coded in platforms.py and sim/airframes.py, bit for bit."""
    cf, x500 = find_platform("crazyflie_2.1"), find_platform("px4_x500")
    assert cf.vehicle == VehicleParams(0.027, 0.07, 1.0, 1.0, 1.0, 9.81 * math.tan(math.radians(20.0)), 0.25, 1000.0, 4.0)
    assert x500.vehicle == VehicleParams(1.5, 0.38, 12.0, 3.0, 1.5, 5.0, 0.5, 300.0, 10.0)
    kf = 3.16e-10 * RPM ** 2
    assert cf.airframe == Airframe(0.027, (1.395e-5, 1.436e-5, 2.173e-5), 0.046, kf, 7.94e-12 * RPM ** 2,
                                   math.sqrt(2.25 * 0.027 * 9.81 / 4.0 / kf), 0.0225, 9.1785e-7 * RPM,
                                   10.311e-7 * RPM, 0.03)
    assert x500.airframe == Airframe(2.0, (0.02167, 0.02167, 0.04), 0.246, 8.54858e-6, 0.016 * 8.54858e-6, 1000.0,
                                     0.127, 8.06428e-5, 8.06428e-5, 0.25, k_att=5.0, k_rate=20.0, max_rate=4.0)
    assert (cf.autopilot, x500.autopilot) == ("crazyflie", "px4")
    assert PLATFORMS["px4_x500"] is x500.vehicle and list(PLATFORMS)[:2] == ["crazyflie_2.1", "px4_x500"]


@pytest.mark.parametrize("path", sorted(BUILTIN.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_builtin_platform_file_is_complete(path):
    p = read_platform(path)
    assert p.name == path.stem and p.airframe is not None and p.description
    assert {k for k, _ in p.sources} >= {"body", "limits", "airframe"}, "figures need their sources"
    assert p.airframe.max_thrust() > 1.5 * p.vehicle.mass * 9.81, "cannot hover with margin"


def _fleet_dir(tmp_path: Path, platforms: dict[str, dict], drones: dict[str, tuple[str, list]]) -> Path:
    """A fleet file with `platforms/` beside it: {name: edits of crazyflie_2.1.yaml}; drones: {name: (platform, start)}."""
    (tmp_path / "platforms").mkdir(exist_ok=True)
    for name, edits in platforms.items():
        data = yaml.safe_load((BUILTIN / edits.pop("from", "crazyflie_2.1.yaml")).read_text())
        for key, value in edits.items():
            section, _, field = key.partition(".")
            if value is None:
                del data[key]
            elif field:
                data[section][field] = value
            else:
                data[section] = value
        (tmp_path / "platforms" / f"{name}.yaml").write_text(yaml.safe_dump(data))
    types = {p: {"platform": p, "role": "r"} for p in {p for p, _ in drones.values()}}
    fleet = {"name": "f", "types": {f"t{k}": t for k, t in enumerate(types.values())},
             "drones": {}}
    tname = {t["platform"]: f"t{k}" for k, t in enumerate(types.values())}
    for d, (p, start) in drones.items():
        fleet["drones"][d] = {"type": tname[p], "start": start}
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    return tmp_path / "fleet.yaml"


def test_platforms_folder_beside_the_fleet_adds_and_overrides(tmp_path):
    path = _fleet_dir(tmp_path, {"crazyflie_2.1": {"limits.max_speed": 0.5}, "my_quad": {"body.mass": 0.05}},
                      {"a": ("crazyflie_2.1", [0, 0, 0]), "b": ("my_quad", [1, 0, 0])})
    fleet = load_fleet(path)
    assert fleet.drones[0].vehicle.max_speed == 0.5            # the local file wins over the built-in
    assert fleet.drones[1].vehicle.mass == 0.05 and fleet.drones[1].platform == "my_quad"
    assert fleet.drones[1].platform_spec.file == str((tmp_path / "platforms" / "my_quad.yaml").resolve())
    assert "my_quad" not in platform_files()                  # nothing leaks to other fleets
    assert PLATFORMS["crazyflie_2.1"].max_speed == 1.0


def _mission(tmp_path: Path, fleet: str, duration: float = 14, **extra) -> Path:
    """A small formation mission in the open hall flying `fleet` (a path relative to the mission)."""
    mission = {"name": "m", "fleet": fleet, "world": str(REPO / "sim/worlds/open_hall.yaml"), "duration": duration,
               "phases": {"takeoff": {"altitude": 1.0, "duration": 3}, "land": {"duration": 6}},
               "roles": {"r": {"controller": "formation",
                               "params": {"shape": "ring", "center": [1, 0, 1.5], "radius": 1.5}}},
               "record": {"enabled": False}, **extra}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mission))
    return tmp_path / "m.yaml"


def test_platform_beside_the_mission_file(tmp_path):
    (tmp_path / "f").mkdir()
    _fleet_dir(tmp_path / "f", {}, {"a": ("crazyflie_2.1", [0, 0, 0]), "b": ("mission_quad", [2, 0, 0])})
    shutil.move(tmp_path / "f" / "platforms", tmp_path / "platforms")
    shutil.copy(BUILTIN / "px4_x500.yaml", tmp_path / "platforms" / "mission_quad.yaml")
    m = load_mission(_mission(tmp_path, "f/fleet.yaml"))
    assert [d.platform for d in m.fleet.drones] == ["crazyflie_2.1", "mission_quad"]
    assert m.fleet.drones[1].vehicle == PLATFORMS["px4_x500"]
    with pytest.raises(ConfigError, match=r"fleet\.yaml: types\.t\d\.platform: got 'mission_quad'; allowed: one of "
                       r"crazyflie_2\.1, px4_x500"):
        load_fleet(tmp_path / "f" / "fleet.yaml")          # alone, the fleet does not see the mission's folder


def test_autopilot_not_name_decides_system_ids_and_links(tmp_path):
    """A platform called crazyflie-something flown by PX4 gets a MAVLink id and no Crazyradio link;
    one called px4-something flown by the Crazyflie firmware the opposite: names mean nothing."""
    path = _fleet_dir(tmp_path, {"crazyflie_on_px4": {"from": "px4_x500.yaml"},
                                 "px4_lookalike": {"autopilot": "crazyflie"}},
                      {"a": ("crazyflie_on_px4", [0, 0, 0]), "b": ("px4_lookalike", [2, 0, 0]),
                       "c": ("crazyflie_on_px4", [4, 0, 0])})
    a, b, c = load_fleet(path).drones
    assert (a.autopilot, a.sysid, b.autopilot, b.sysid, c.sysid) == ("px4", 1, "crazyflie", None, 2)
    radio = "radio://0/80/2M/E7E7E7E701"
    assert "a Crazyradio URI" in check_uri(radio, a) and check_uri(radio, b) is None


def test_autopilot_as_module_class_path(tmp_path):
    """A platform may name its backend class directly; one that does not load still simulates."""
    path = _fleet_dir(tmp_path, {"by_path": {"from": "px4_x500.yaml", "autopilot": "swarm_ros.hardware.px4:Px4Backend"},
                                 "broken_path": {"autopilot": "no_such_module:Backend"}},
                      {"a": ("by_path", [0, 0, 0]), "b": ("broken_path", [2, 0, 0])})
    a, b = load_fleet(path).drones
    assert a.sysid == 1 and b.sysid is None
    assert hardware.backend_class(a.autopilot) is hardware.backend_class("px4")
    with pytest.raises(ConfigError) as info:
        fleet_links(load_fleet(path), {"a": "udp://127.0.0.1:14550", "b": "udp://127.0.0.1:19850"})
    assert str(info.value).startswith(f"{tmp_path / 'platforms' / 'broken_path.yaml'}: autopilot: "
                                      "'no_such_module:Backend' (drone 'b'): 'no_such_module:Backend': cannot import module "
                                      "'no_such_module'")


def test_an_autopilot_nobody_flies_simulates_but_does_not_deploy(tmp_path):
    path = _fleet_dir(tmp_path, {"ardu_quad": {"autopilot": "ardupilot"}},
                      {"a": ("ardu_quad", [0, 0, 0]), "b": ("crazyflie_2.1", [2, 0, 0])})
    m = load_mission(_mission(tmp_path, str(path)))
    sim = fly(m)
    assert sim.landed().all() and sim.metrics.distance.min() > 2.0       # flew and landed
    with pytest.raises(ConfigError) as info:
        fleet_links(m.fleet, {"a": "udp://127.0.0.1:14550", "b": "udp://127.0.0.1:19850"})
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path / 'platforms' / 'ardu_quad.yaml'}: autopilot: 'ardupilot'") and "\n" not in msg
    assert "allowed: an autopilot with a hardware backend: crazyflie, px4" in msg


def test_no_code_branches_on_a_platform_name():
    """What a vehicle is comes from its platform file (autopilot, airframe, colour), not its name."""
    offenders = []
    for folder in ("swarm_ros", "sim", "firmware_update"):
        for f in (REPO / folder).rglob("*.py"):
            for m in re.finditer(r"platform\w*\.startswith\(|platform\s*(==|!=|not in|in)\s*[(\[{\"']", f.read_text()):
                offenders.append(f"{f.relative_to(REPO)}: {m.group(0)}")
    assert offenders == []


def test_physics_backend_by_module_path_flies_the_same_numbers(tmp_path):
    fleet = _fleet_dir(tmp_path, {}, {"a": ("crazyflie_2.1", [0, 0, 0]), "b": ("px4_x500", [2, 0, 0])})
    runs = []
    for backend in ("pointmass", "swarm_ros.physics:PointMass"):
        m = load_mission(_mission(tmp_path, str(fleet), sim={"backend": backend}))
        assert isinstance(m.physics, physics.PointMass) and m.backend == backend
        runs.append(fly(m).position.copy())
    assert np.array_equal(runs[0], runs[1])


def test_hardware_backends_found_by_autopilot():
    from swarm_ros.hardware.base import Backend
    assert hardware.backend_names()[:2] == ["crazyflie", "px4"]
    assert hardware.backend_choices()[-1] == "mixed"
    for name in ("crazyflie", "px4"):
        cls = hardware.backend_class(name)
        assert issubclass(cls, Backend) and cls.kind == name
    assert hardware.system_id_autopilots()[:1] == ["px4"] and hardware.backend_class("ardupilot") is None


def test_gazebo_export_of_a_platform_without_airframe_is_a_one_line_error(tmp_path, capsys):
    from swarm_ros.cli import main
    fleet = _fleet_dir(tmp_path, {"flat_quad": {"airframe": None}}, {"a": ("flat_quad", [0, 0, 0])})
    mission = _mission(tmp_path, str(fleet))
    assert load_mission(mission).fleet.drones[0].airframe is None        # flies with pointmass
    assert main(["export-gazebo", str(mission), "--out", str(tmp_path / "gz")]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {tmp_path / 'platforms' / 'flat_quad.yaml'}: airframe: missing: drone 'a' needs a "
                   "rigid-body model for Gazebo; allowed: an airframe section (as in config/platforms/crazyflie_2.1.yaml)\n")
    assert not (tmp_path / "gz").exists()
