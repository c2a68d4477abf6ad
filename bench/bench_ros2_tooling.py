"""What the real ROS 2 launch tooling costs: installing its wheels, and one `ros2 launch` of a mission.

    python bench/bench_ros2_tooling.py              # about 2 min on 2 cores
    python bench/bench_ros2_tooling.py --repeats 1 --json /tmp/ros2_tooling.json

- install: `pip install --no-index --find-links ../shared/ros2-tooling/wheels --no-deps --target T`
  of every wheel there (what scripts/_venv.sh adds to an environment that has the project), wall s;
- launch: `ros2 launch swarm_ros swarm.launch.py` of rings shortened to 6 s, lockstep, wall s from
  the command to its exit (process start, discovery, flight, bag closed, shutdown), and the same
  mission through `swarm-ros launch` in the same run: the launch tooling's overhead next to ours.
Both launches must complete (exit 0, "mission complete") before a figure is shown.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))
from common import machine_info, median, table, write_json  # noqa: E402

NAME = "bench_ros2_tooling"
REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wheels_dir() -> Path:
    return Path(os.environ.get("SWARM_ROS_SHARED", REPO.parent / "shared")) / "ros2-tooling" / "wheels"


def install_once(wheels: Path, scratch: Path) -> float:
    target = Path(tempfile.mkdtemp(dir=scratch))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
                    "--find-links", str(wheels), "--no-deps", "--target", str(target), *map(str, wheels.glob("*.whl"))],
                   check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t0


def launch_once(cmd: list[str], env: dict, cwd: Path) -> float:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    out = run.stdout + run.stderr
    if run.returncode != 0 or not ("mission complete" in out or "summary" in out):
        raise SystemExit(f"error: {' '.join(cmd[:3])} failed (exit {run.returncode}):\n{out[-2000:]}")
    return wall


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--domain-id", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "95")))
    p.add_argument("--json")
    args = p.parse_args(argv)
    wheels = wheels_dir()
    if not wheels.is_dir() or not (BIN / "ros2").exists():
        print(f"error: needs the wheels in {wheels} installed in this environment (scripts/_venv.sh does it)",
              file=sys.stderr)
        return 2
    from ros2util import registered_prefix_path, short_rings, stop_daemon, tool_env
    with tempfile.TemporaryDirectory(prefix="bench_ros2_tooling_") as tmp:
        scratch = Path(tmp)
        env = tool_env(dict(os.environ, ROS_DOMAIN_ID=str(args.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST"),
                       scratch / "tools")
        env["AMENT_PREFIX_PATH"] = registered_prefix_path(env)
        mission = short_rings(scratch, duration=6.0, speed=0.0)
        install = [install_once(wheels, scratch) for _ in range(args.repeats)]
        ours, ros2 = [], []
        try:
            for k in range(args.repeats):
                ros2.append(launch_once([str(BIN / "ros2"), "launch", "swarm_ros", "swarm.launch.py",
                                         f"mission:={mission}"], env, scratch))
                ours.append(launch_once([str(BIN / "swarm-ros"), "launch", str(mission), "--run-dir",
                                         str(scratch / f"ours_{k}")], env, scratch))
        finally:
            stop_daemon(env)
    n_wheels = len(list(wheels.glob("*.whl")))
    rows = [(f"install {n_wheels} tooling wheels (offline)", f"{median(install):.1f}", f"{min(install):.1f}"),
            ("ros2 launch swarm.launch.py (rings, 6 s, lockstep)", f"{median(ros2):.1f}", f"{min(ros2):.1f}"),
            ("swarm-ros launch, same mission", f"{median(ours):.1f}", f"{min(ours):.1f}")]
    print(table(["what", "median s", "min s"], rows, title=f"ROS 2 tooling, {args.repeats} repeats"))
    write_json(NAME, {"machine": machine_info(), "repeats": args.repeats, "wheels": n_wheels,
                      "install_s": install, "ros2_launch_s": ros2, "swarm_ros_launch_s": ours}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
