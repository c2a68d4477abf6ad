"""Helpers for tests that use the real ROS 2 tools (`ros2 launch`, `ros2 run`, `ros2 param`, ...).

The tools are not on PyPI: scripts/_venv.sh installs them from ../shared/ros2-tooling/wheels
where that folder exists; elsewhere these tests skip with the reason.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NO_TOOLS = ("the ROS 2 launch tooling (launch_ros, ros2cli) is not installed: it comes with a ROS 2 "
            "distribution, or from ../shared/ros2-tooling/wheels (scripts/_venv.sh installs it where present)")


def have_tools() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in ("ros2launch", "ros2param", "ros2topic", "ros2run"))
    except (ImportError, ValueError):
        return False


def ros2() -> str:
    exe = BIN / "ros2"
    return str(exe) if exe.exists() else (shutil.which("ros2") or "ros2")


def short_rings(folder: Path, duration: float = 6.0, speed: float = 1.0, name: str = "short_rings") -> Path:
    """rings as written, shortened to `duration` s of mission time (take-off 2 s, then a landing of
    up to 6 s that every drone finishes: a run of it is "mission OK", so exits 0)."""
    src = REPO / "config" / "missions" / "rings.yaml"
    data = yaml.safe_load(src.read_text())
    for key in ("fleet", "world"):
        data[key] = str((src.parent / data[key]).resolve())
    data.update(name=name, duration=duration)
    data["phases"] = {"takeoff": {"altitude": 1.0, "duration": 2}, "land": {"duration": min(6.0, max(3.0, duration / 2)), "speed": 1.0}}
    data["sim"]["speed"] = speed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def tool_env(base: dict, scratch: Path, prefix_path: str | None = None) -> dict:
    """`base` with ros2cli's and launch_ros's files (daemon, logs, launch_params_*) in `scratch`."""
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    env = dict(base, TMPDIR=str(scratch / "tmp"), ROS_HOME=str(scratch / "ros_home"), PYTHONUNBUFFERED="1",
               PATH=f"{BIN}{os.pathsep}{base.get('PATH', '')}")
    if prefix_path is not None:
        env["AMENT_PREFIX_PATH"] = prefix_path
    return env


def registered_prefix_path(env: dict) -> str:
    """The documented environment line for a pip install: `python -m swarm_ros.ament_index`."""
    run = subprocess.run([sys.executable, "-m", "swarm_ros.ament_index"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def stop_daemon(env: dict) -> None:
    subprocess.run([ros2(), "daemon", "stop"], env=env, capture_output=True, timeout=60)


class Launch:
    """`ros2 launch ...` as a child process in its own session, its output in a file."""

    def __init__(self, args: list[str], env: dict, cwd: Path, log: Path):
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([ros2(), "launch", *args], env=env, cwd=cwd, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.proc.poll() is not None:
                return text in self.output
            time.sleep(0.2)
        return False

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """SIGINT to ros2 launch (it stops its processes), then SIGKILL to its whole session."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            if self.wait(20) is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def pid_of(self, executable: str) -> int | None:
        """The pid launch reports for the first process of `executable` ("[simulator-1]: process started")."""
        for line in self.output.splitlines():
            if f"[{executable}-" in line and "process started with pid [" in line:
                return int(line.rsplit("[", 1)[1].rstrip("]"))
        return None


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "[ERROR]" in line]


def stall_recorder(pid: int) -> None:
    """Stop a real-time run's recorder (SIGSTOP) 2 s into the mission for 8 s: 400 ticks, twice
    the reliable history, so it loses odometry for good."""
    time.sleep(2)
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(8)
    finally:
        os.kill(pid, signal.SIGCONT)
