"""Gazebo export: every shipped mission's world and fleet become SDF that Gazebo's own parser
(`ign sdf -k`, Debian's ignition-tools + libsdformat) accepts, with the vehicle figures intact."""
from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import REPO
from sim.gazebo import export
from swarm_ros.gazebo_bridge import bridge_config
from swarm_ros import topics
from swarm_ros.mission import load_mission

MISSIONS = sorted(p.stem for p in (REPO / "config" / "missions").glob("*.yaml"))
IGN = shutil.which("ign")
needs_ign = pytest.mark.skipif(IGN is None, reason="`ign` not installed (Debian: apt install ignition-tools "
                               "libsdformat-dev); .ci/run installs it where apt works")


def ign_check(path) -> subprocess.CompletedProcess:
    return subprocess.run([IGN, "sdf", "-k", str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = {}
    for name in MISSIONS:
        mission = load_mission(REPO / "config" / "missions" / f"{name}.yaml")
        out[name] = (mission, export(mission, tmp_path_factory.mktemp(name), bridge_config(mission)))
    return out


@needs_ign
@pytest.mark.parametrize("name", MISSIONS)
def test_exported_world_and_models_validate(exported, name):
    _, files = exported[name]
    for kind, path in files.items():
        if kind != "bridge":
            res = ign_check(path)
            assert res.returncode == 0 and "Valid" in res.stdout, f"{kind}: {res.stdout}{res.stderr}"


@needs_ign
def test_ign_rejects_a_broken_model(exported, tmp_path):
    """The validator is not a rubber stamp: the exported model with a rotor inertia breaking the
    triangle inequality is refused."""
    _, files = exported["rings"]
    root = ET.parse(files["model:px4_x500"]).getroot()
    root.find("model/link[@name='rotor_0']/inertial/inertia/izz").text = "1.0"
    bad = tmp_path / "bad.sdf"
    bad.write_text(ET.tostring(root, encoding="unicode"))
    assert ign_check(bad).returncode != 0


def test_world_holds_obstacles_and_drones_with_their_figures(exported):
    mission, files = exported["rings"]
    world = ET.parse(files["world"]).getroot().find("world")
    models = {m.get("name"): m for m in world.findall("model")}
    assert set(models) == {"ground_plane", *mission.world.obstacle_names, *mission.fleet.names}
    for d in mission.fleet.drones:
        m = models[d.name]
        mass = sum(float(e.text) for e in m.findall("link/inertial/mass"))
        assert mass == pytest.approx(d.vehicle.mass)
        x, y, _z = map(float, m.find("pose").text.split()[:3])
        assert (x, y) == pytest.approx(d.start[:2])
        motors = [p for p in m.findall("plugin") if p.get("name").endswith("MulticopterMotorModel")]
        assert len(motors) == 4
        frame = d.airframe
        assert float(motors[0].find("motorConstant").text) == pytest.approx(frame.kf, rel=1e-5)
        assert float(motors[0].find("maxRotVelocity").text) == pytest.approx(frame.max_rotor_speed, rel=1e-5)
        dirs = [p.find("turningDirection").text for p in motors]
        assert dirs.count("cw") == 2 and dirs[0] == dirs[2]          # diagonal rotors turn alike
    tower = models["tower"]
    assert tower.find("static").text == "true"
    assert [float(v) for v in tower.find("link/collision/geometry/box/size").text.split()] == [1.2, 1.2, 4.5]


def test_bridge_config_connects_each_drones_topics(exported):
    mission, files = exported["rings"]
    entries = yaml.safe_load(files["bridge"].read_text())
    ros = {e["ros_topic_name"]: e for e in entries}
    for d in mission.fleet.drones:
        assert ros[topics.of(d.name, topics.GZ_ODOM)]["direction"] == "GZ_TO_ROS"    # body-axes twist
        assert topics.of(d.name, topics.ODOM) not in ros      # the adapter publishes odom, in world axes
        assert ros[topics.of(d.name, topics.CMD)]["ros_type_name"] == "geometry_msgs/msg/TwistStamped"


def test_cli_export_and_its_errors(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "swarm_ros.cli", "export-gazebo", *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    ok = run("rings", "--out", str(tmp_path / "gz"))
    assert ok.returncode == 0 and (tmp_path / "gz" / "rings.sdf").is_file()
    assert (tmp_path / "gz" / "models" / "px4_x500" / "model.config").is_file()
    (tmp_path / "file").write_text("x")
    for args, where in ((("rings", "--out", str(tmp_path / "file")), "--out"), (("no_such_mission", "--out", "x"), "")):
        bad = run(*args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        assert where in bad.stderr and "allowed:" in bad.stderr
