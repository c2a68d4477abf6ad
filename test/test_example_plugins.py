"""The example plugin package (examples/swarm_ros_example) adds a vehicle type and a physics
backend from outside swarm_ros: pip-installed (offline, from a copy) into a folder of its own,
a mission that names both flies headless; without it the same mission is a one-line error."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_ros.core.configfile import ConfigError
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "swarm_ros_example"
MISSION = EXAMPLE / "missions" / "windy_brushless.yaml"

FLY = r"""
import json, sys
import numpy as np
from dataclasses import replace
from swarm_ros.mission import load_mission
from swarm_ros.headless import fly
from swarm_ros.physics import PointMass
m = load_mission(sys.argv[1])
calm = replace(m, physics=PointMass())          # the same mission without wind
runs = {}
for name, mission in (("windy", m), ("calm", calm)):
    xs = []
    sim = fly(mission, on_tick=lambda s, _c: xs.append(s.position[:, 0].copy()))
    task = slice(int(mission.phases.takeoff_end * mission.control_rate), int(mission.phases.task_end * mission.control_rate))
    runs[name] = {"mean_x_task": np.array(xs)[task].mean(axis=0).tolist(), "summary": sim.summary(),
                  "physics": type(sim.physics).__module__ + "." + type(sim.physics).__name__}
d = m.fleet.drones[0]
print(json.dumps({"platform": d.platform, "autopilot": d.autopilot, "mass": d.vehicle.mass,
                  "platform_file": d.platform_spec.file, "backend": m.backend,
                  "options": [list(m.physics.wind), m.physics.drag], **runs}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example installed with pip (no network: --no-build-isolation --no-deps) into its own folder."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is needed to build the example offline")
    tmp = tmp_path_factory.mktemp("example")
    src, target = tmp / "src", tmp / "site"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                          "--disable-pip-version-check", "-q", "--target", str(target), str(src)],
                         cwd=tmp, capture_output=True, text=True, timeout=240, env=dict(os.environ, PIP_NO_INPUT="1"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert list(target.glob("swarm_ros_example-*.dist-info/entry_points.txt"))
    return target


def test_installed_example_flies_its_vehicle_with_its_physics_headless(site):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    run = subprocess.run([sys.executable, "-c", FLY, str(MISSION)], cwd=site.parent, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    # the vehicle came from the installed package, flown by the Crazyflie firmware's backend
    assert (got["platform"], got["autopilot"], got["mass"]) == ("crazyflie_brushless", "crazyflie", 0.032)
    assert Path(got["platform_file"]).is_relative_to(site)
    assert got["backend"] == "windy_pointmass" and got["options"] == [[1.5, 0.0, 0.0], 0.4]
    assert got["windy"]["physics"] == "swarm_ros_example.windy.WindyPointMassSwarm"
    windy, calm = got["windy"]["summary"], got["calm"]["summary"]
    for s in (windy, calm):
        assert s["collisions"] == 0 and s["geofence_violations"] == 0
        assert all(d["landed"] for d in s["drones"])
    # the easterly wind pushes every drone east of where it flies in calm air
    drift = [w - c for w, c in zip(got["windy"]["mean_x_task"], got["calm"]["mean_x_task"])]
    assert min(drift) > 0.05, drift


def test_example_options_are_checked_by_the_backend(site, tmp_path):
    text = MISSION.read_text().replace("fleet: brushless_fleet.yaml", f"fleet: {EXAMPLE / 'missions' / 'brushless_fleet.yaml'}")
    (tmp_path / "m.yaml").write_text(text.replace("drag: 0.4", "drag: -1"))
    probe = ("import sys\nfrom swarm_ros.mission import load_mission\nfrom swarm_ros.core.configfile import ConfigError\n"
             "try:\n    load_mission(sys.argv[1])\nexcept ConfigError as e:\n    print(e)\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    run = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "m.yaml")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.stdout.strip() == f"{tmp_path / 'm.yaml'}: sim.drag: got -1; allowed: a number >= 0 and <= 5", run.stderr


@pytest.mark.skipif(importlib.util.find_spec("swarm_ros_example") is not None,
                    reason="the example is installed in this environment")
def test_without_the_example_its_platform_is_a_one_line_error():
    with pytest.raises(ConfigError) as info:
        load_mission(MISSION)
    err = info.value
    assert Path(err.file).name == "brushless_fleet.yaml" and err.path == "types.bl.platform"
    assert "got 'crazyflie_brushless'" in str(err) and "allowed: one of crazyflie_2.1, px4_x500" in str(err)
