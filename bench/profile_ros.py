"""Where the CPU of a ROS run goes: CPU seconds per simulated second of each process, and
(with py-spy) the functions each spends them in.

    python bench/profile_ros.py --n 100 --duration 8                 # CPU per process, lockstep
    python bench/profile_ros.py --n 100 --speed 1                    # the same in real time
    python bench/profile_ros.py --n 100 --py-spy /path/to/py-spy     # and sampled stacks

The mission is bench/scenarios.py's sphere, flown by `run_mission` with the recorder on, as
bench_ros.py flies it. Only the running phase counts (cpu_usage.py). py-spy (not a dependency:
`pip install py-spy`) samples each process for `--spy-seconds` once the mission starts, with
Python frames of busy threads only, and the top frames by own and by inclusive time are printed; the raw stacks stay
in the run folder (`--keep`).
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_usage import CpuSampler, running_phase  # noqa: E402
from scenarios import write_scaled_mission  # noqa: E402

from rich.console import Console  # noqa: E402

from swarm_ros.mission import load_mission  # noqa: E402
from swarm_ros.runner import run_mission  # noqa: E402


def _mission_started(log_dir: Path, stop: threading.Event) -> bool:
    """Wait until the simulator logs the start (plus half a second to settle); False if stopped first."""
    while not stop.is_set() and not any("starts" in p.read_text(errors="replace")
                                        for p in log_dir.glob("*simulator*.log")):
        time.sleep(0.05)
    if stop.is_set():
        return False
    time.sleep(0.5)
    return True


def _spy(py_spy: str, cpu: CpuSampler, log_dir: Path, out: Path, seconds: float, stop: threading.Event) -> None:
    """Once the mission starts, record every child process with py-spy for `seconds`."""
    if not _mission_started(log_dir, stop):
        return
    spies = []
    for proc in cpu.me.children(recursive=True):
        label = cpu._procs.get(proc.pid, (None, "?"))[1]
        spies.append(subprocess.Popen([py_spy, "record", "--nonblocking", "-r", "200", "-d",
                                       str(int(seconds)), "-f", "raw", "-o", str(out / f"{label}_{proc.pid}.txt"),
                                       "-p", str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for s in spies:
        s.wait()


def _perf(perf: str, cpu: CpuSampler, log_dir: Path, out: Path, seconds: float, stop: threading.Event) -> None:
    """Once the mission starts, sample every child process (all threads, DDS ones too) with perf."""
    if not _mission_started(log_dir, stop):
        return
    pids = ",".join(str(p.pid) for p in cpu.me.children(recursive=True))
    subprocess.run([perf, "record", "-F", "499", "-o", str(out / "perf.data"), "-p", pids, "--", "sleep",
                    str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(path: Path, top: int) -> str:
    own, incl, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [f.split(" (")[0] for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"{path.stem}: {total} samples"]
    lines += [f"  own  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    inner = [(f, c) for f, c in incl.most_common() if c < 0.95 * total][:top]
    lines += [f"  incl {100 * c / total:5.1f}%  {f}" for f, c in inner]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="drones (default 100)")
    ap.add_argument("--duration", type=float, default=8.0, help="simulated seconds (default 8)")
    ap.add_argument("--speed", type=float, default=0.0, help="0 lockstep (default), 1 real time")
    ap.add_argument("--per-drone-processes", action="store_true", help="one process per drone")
    ap.add_argument("--drone-processes", type=int, help="the drones in K processes (default 1)")
    ap.add_argument("--py-spy", metavar="EXE", help="py-spy executable: also sample stacks")
    ap.add_argument("--perf", metavar="EXE", help="perf executable: also sample all threads by library")
    ap.add_argument("--spy-seconds", type=float, default=4.0, help="seconds of stacks per process (default 4)")
    ap.add_argument("--top", type=int, default=12, help="frames listed per process (default 12)")
    ap.add_argument("--keep", metavar="DIR", help="keep the run folder here")
    ap.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0")),
                    help="ROS domain id (default $ROS_DOMAIN_ID)")
    args = ap.parse_args(argv)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="profile_ros_")
    root = Path(args.keep or tmp.name)
    try:
        mission = load_mission(write_scaled_mission(root / "mission", args.n, duration=args.duration))
        run_dir = root / "run"
        stacks = root / "stacks"
        stacks.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()
        with CpuSampler() as cpu:
            spy = threading.Thread(target=_spy, args=(args.py_spy, cpu, run_dir / "logs", stacks, args.spy_seconds,
                                                      stop), daemon=True) if args.py_spy else None
            if args.perf:
                spy = threading.Thread(target=_perf, args=(args.perf, cpu, run_dir / "logs", stacks,
                                                           args.spy_seconds, stop), daemon=True)
            if spy:
                spy.start()
            try:
                s = run_mission(mission, speed=args.speed, run_dir=run_dir, record=True, domain_id=args.domain,
                                per_drone_processes=args.per_drone_processes,
                                drone_processes=args.drone_processes, console=Console(file=open(os.devnull, "w")))
            finally:
                stop.set()
                if spy:
                    spy.join()
        phase = running_phase(run_dir / "logs")
        used = cpu.between(*phase)
        sim_s = s["sim_time"]
        ticks = s["ticks"] * args.n
        print(f"N={args.n} speed {args.speed:g}: RTF {s['rtf']:.3f}, late {100 * s['late_ticks'] / ticks:.2f}% "
              f"of drone-ticks, {phase[1] - phase[0]:.1f} s wall for {sim_s:g} sim s")
        print(f"CPU core-seconds per sim-second: {sum(used.values()) / sim_s:.3f}  "
              f"(us per drone-step: {1e6 * sum(used.values()) / ticks:.0f})")
        for label, c in used.items():
            print(f"  {label:14s} {c / sim_s:6.3f}   {1e6 * c / ticks:6.0f} us/drone-step")
        if (stacks / "perf.data").is_file():
            report = subprocess.run([args.perf, "report", "-i", str(stacks / "perf.data"), "--stdio",
                                     "--sort", "pid,dso", "--percent-limit", "0.7"],
                                    capture_output=True, text=True).stdout
            print("\n".join(line for line in report.splitlines() if line.strip() and not line.startswith("#")))
        for path in sorted(stacks.glob("*.txt")):
            print(summarize(path, args.top))
    finally:
        if tmp:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
