"""Every install is launchable: `pip install .`, `pip install -e .` and a colcon workspace build,
each followed by its one environment line, then the real `ros2 launch` and `ros2 run`.

Slow (a package build and a short mission per route): `-m "not slow"` leaves them out.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import swarm_ros
from ros2util import BIN, NO_TOOLS, have_tools, registered_prefix_path, ros2, short_rings, stop_daemon, tool_env

REPO = Path(__file__).resolve().parent.parent
COPY_IGNORE = shutil.ignore_patterns(".git", "build", "install", "log", "runs", "*.egg-info", "__pycache__",
                                     "*.pyc", ".pytest_cache", ".venv", "results")
TIMEOUT = 240.0

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not have_tools(), reason=NO_TOOLS)]


@pytest.fixture
def scratch(ros_env, tmp_path):
    env = tool_env(ros_env, tmp_path / "scratch")
    env.pop("AMENT_PREFIX_PATH", None)
    yield env
    stop_daemon(env)


def _source_copy(folder: Path) -> Path:
    shutil.copytree(REPO, folder, ignore=COPY_IGNORE)
    return folder


def _run(cmd, env, cwd, timeout=TIMEOUT) -> str:
    run = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"{cmd} exited {run.returncode}:\n{out[-4000:]}"
    return out


def _launch_and_run(shell_prefix: str, env: dict, cwd: Path, mission: Path) -> str:
    """`ros2 launch` a short lockstep mission and `ros2 run` the CLI, after `shell_prefix`; the
    output ends with where `ros2 pkg prefix` finds the package."""
    out = _run(["bash", "-c", f"{shell_prefix}ros2 launch swarm_ros swarm.launch.py mission:={mission} speed:=0 "
                f"&& ros2 run swarm_ros swarm-ros check {mission} && ros2 pkg prefix swarm_ros"], env, cwd)
    assert "mission complete" in out and "is valid" in out, out[-3000:]
    return out


def test_pip_install(scratch, tmp_path):
    """`pip install .` into a prefix: the index entry, share/ and lib/swarm_ros launchers."""
    src = _source_copy(tmp_path / "src")
    prefix = tmp_path / "prefix"
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
          "--ignore-installed", "--prefix", str(prefix), str(src)], scratch, tmp_path)   # leaves this env's install alone
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # the documented line names the prefix (for a venv install: `python -m swarm_ros.ament_index`)
    env = dict(scratch, AMENT_PREFIX_PATH=str(prefix), PYTHONPATH=str(site))
    out = _launch_and_run("", env, tmp_path, short_rings(tmp_path, speed=0))
    assert out.strip().splitlines()[-1] == str(prefix), "the package was not found in the install"
    probe = _run([sys.executable, "-c", "import swarm_ros; print(swarm_ros.__file__)"], env, tmp_path)
    assert Path(probe.strip().splitlines()[-1]).is_relative_to(site)


def test_editable_install(scratch, tmp_path):
    """This environment's `pip install -e .` plus `export AMENT_PREFIX_PATH=$(python -m swarm_ros.ament_index)`."""
    if not Path(swarm_ros.__file__).resolve().is_relative_to(REPO):
        pytest.skip("swarm_ros is not installed editable from this checkout here")
    env = dict(scratch, AMENT_PREFIX_PATH=registered_prefix_path(scratch))
    assert env["AMENT_PREFIX_PATH"].split(os.pathsep)[0] == sys.prefix
    prefix = _run([ros2(), "pkg", "prefix", "swarm_ros"], env, tmp_path).strip()
    assert prefix == sys.prefix
    launch_file = Path(sys.prefix, "share", "swarm_ros", "launch", "swarm.launch.py")
    assert launch_file.resolve() == REPO / "launch" / "swarm.launch.py", "edits in the checkout are what launches"
    out = _launch_and_run("", env, tmp_path, short_rings(tmp_path, speed=0))
    assert out.strip().splitlines()[-1] == sys.prefix


def test_colcon_workspace_build(scratch, tmp_path):
    """`colcon build` of a workspace holding the package, then `source install/setup.bash`."""
    if importlib.util.find_spec("colcon_ros") is None:
        pytest.skip("colcon is not installed here (pip install colcon-core colcon-ros)")
    ws = tmp_path / "ws"
    _source_copy(ws / "src" / "swarm_ros")
    _run([str(BIN / "colcon"), "--log-base", "log", "build", "--base-paths", "src"], scratch, ws)
    simulator = ws / "install" / "swarm_ros" / "lib" / "swarm_ros" / "simulator"
    assert simulator.read_text().startswith("#!"), "colcon installs the console script itself there"
    out = _launch_and_run("source install/setup.bash && ", scratch, ws, short_rings(tmp_path, speed=0))
    assert out.strip().splitlines()[-1] == str(ws / "install" / "swarm_ros")
