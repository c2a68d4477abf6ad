"""The example plugin package (examples/swarm_ros_example) installs with pip and flies from outside
swarm_ros: its `consensus` controller, found by entry-point name, with its coordinator service,
headless and over ROS (`swarm-ros launch`), its service's topics in the bag."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from test_end_to_end import read_bag

EXAMPLE = REPO / "examples" / "swarm_ros_example"
MISSION = EXAMPLE / "missions" / "consensus.yaml"
HEADLESS = """
import json, sys
from swarm_ros.mission import load_mission
from swarm_ros.headless import fly
m = load_mission(sys.argv[1])
sim = fly(m)
print(json.dumps({"roles": {r.name: r.cls.__module__ for r in m.roles.values()}, "services": list(m.services),
                  "consensus": sim.extra["consensus"], "position": sim.position.tolist()}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Environment whose Python finds the example, pip-installed (offline) into a target folder
    from a copy of its source (no build/ lands in the checkout)."""
    tmp = tmp_path_factory.mktemp("example")
    src, target = tmp / "src", tmp / "site"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "-q",
                          "--disable-pip-version-check", "--target", str(target), str(src)],
                         capture_output=True, text=True, timeout=240, env=dict(os.environ, PIP_NO_INPUT="1"))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert list(target.glob("swarm_ros_example-*.dist-info"))
    return dict(os.environ, PYTHONPATH=str(target), COLUMNS="160")


def test_without_the_package_the_name_is_unknown():
    """Not installed here: the error lists the installed controllers and says a path would do."""
    from swarm_ros.core.configfile import ConfigError
    from swarm_ros.mission import load_mission
    with pytest.raises(ConfigError) as info:
        load_mission(MISSION)
    assert info.value.path == "roles.northbound.controller" and "'consensus'" in info.value.problem
    assert "formation" in info.value.allowed and "module:Class" in info.value.allowed


@pytest.fixture(scope="module")
def headless(installed, tmp_path_factory):
    out = subprocess.run([sys.executable, "-c", HEADLESS, str(MISSION)], capture_output=True, text=True,
                         timeout=300, env=installed, cwd=tmp_path_factory.mktemp("headless"))
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_flies_headless_by_entry_point_name(headless):
    assert headless["roles"] == {"northbound": "swarm_ros_example.controller",
                                 "southbound": "swarm_ros_example.controller"}
    assert headless["services"] == ["coordinator"]
    c = headless["consensus"]
    # a round every 2 s of the 13 s task phase, all answered in the tick they were reported
    assert c["rounds"] == 7
    # round 0: the drones over their pads (mean of the fleet's starts), the last: the rings' centre
    assert np.allclose(c["first_centre"], [-1.0, 0.0], atol=0.05)
    pos = np.array(headless["position"])
    assert np.all(pos[:, 2] < 0.05), "every drone landed"
    centre = np.array(c["last_centre"])
    radii = np.linalg.norm(pos[:, :2] - centre, axis=1)
    assert np.allclose(radii[:3], 1.5, atol=0.2) and np.allclose(radii[3:], 3.0, atol=0.2)


def test_flies_over_ros_with_its_coordinator_node(installed, headless, ros_env, tmp_path):
    env = dict(installed, ROS_DOMAIN_ID=ros_env["ROS_DOMAIN_ID"], ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", str(MISSION), "--speed", "0",
                          "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / "run" / "logs" / "03_coordinator.log").is_file()
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["collisions"] == 0 and all(d["landed"] for d in s["drones"])
    # Round 0 is reported before any answer arrives: the same positions as headless. Later
    # answers reach the drones a tick or so later than in-process, so those differ slightly.
    c = s["consensus"]
    assert np.allclose(c["first_centre"], headless["consensus"]["first_centre"], atol=1e-6)
    assert c["rounds"] >= headless["consensus"]["rounds"] - 1
    assert np.allclose(c["last_centre"], headless["consensus"]["last_centre"], atol=0.1)
    messages, _ = read_bag(tmp_path / "run" / "bag")
    assert len(messages["/cf1/consensus/report"]) >= c["rounds"] and messages["/cf6/consensus/centre"]
    assert json.loads(messages["/swarm/consensus"][-1][1].data) == {"consensus": c}
