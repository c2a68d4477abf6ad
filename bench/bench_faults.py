"""Fault runs through `swarm-ros launch`: how fast a lockstep mission flies on after a fault,
against the same mission without one in the same run.

    python bench/bench_faults.py                  # rings, lockstep, one process per drone: about 2 min
    python bench/bench_faults.py --repeats 3 --json /tmp/faults.json
    python bench/bench_faults.py --limit 60      # stop each run 60 s after its start (code that never ends)

Contenders (each a whole launch, in its own domain from $ROS_DOMAIN_ID, default 90):
- peer (no fault): the mission as is;
- drone killed: cf2's process SIGKILLed as the mission starts (it is declared lost after the
  default 5 command timeouts, its failsafe lands it);
- recorder stalled: the recorder SIGSTOPped for STALL s after the mission starts (lockstep waits).

Reported: wall time from the mission start to the summary, the mission's real-time factor
(`rtf` of the summary, over the whole run), what the summary says was lost, how many odometry
messages the bag misses, and the verdict (or how the launch failed).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, ratio, table, write_json  # noqa: E402

NAME = "bench_faults"
STALL = 12.0     # s the recorder is stopped


def _says(run: Path, label: str, text: str) -> bool:
    logs = sorted((run / "logs").glob(f"*_{label}.log")) if (run / "logs").is_dir() else []
    return bool(logs) and text in logs[0].read_text(errors="replace")


def _pid(run: Path, label: str) -> int:
    return next(int(line.split()[0]) for line in (run / "logs" / "pids.txt").read_text().splitlines()
                if line.split()[1].endswith(f"_{label}.log"))


def mission_time(domain: int) -> float | None:
    """The mission time /swarm/status reports now on `domain` (None if none comes within 10 s)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from swarm_ros_interfaces.msg import SwarmStatus
    from swarm_ros.nodes.runtime import qos
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain)
    node = rclpy.create_node("bench_faults", context=context, enable_rosout=False, start_parameter_services=False)
    got: list[float] = []
    node.create_subscription(SwarmStatus, "/swarm/status", lambda m: got.append(m.t), qos("/swarm/status"))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.2)
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)
    return got[-1] if got else None


def odometry_missing(bag: Path, ticks: int) -> int | None:
    """Odometry messages the bag misses, read from the bag itself (one per drone and tick flown)."""
    from mcap.reader import make_reader
    from swarm_ros.nodes.cdr import header_stamp
    files = sorted(bag.glob("*.mcap"))
    if not files:
        return None
    stamps: dict[str, set] = {}
    try:
        with open(files[0], "rb") as f:
            for _schema, channel, message in make_reader(f).iter_messages():
                if channel.topic.endswith("/odom"):
                    stamps.setdefault(channel.topic, set()).add(header_stamp(message.data))
    except Exception:          # a bag the recorder never closed
        return None
    return sum(ticks - len(s) for s in stamps.values())


def one_run(mission: str, fault: str, domain: int, tmp: Path, limit: float | None = None) -> dict:
    run = tmp / f"{fault.split()[0]}_{domain}"
    args = [sys.executable, "-m", "swarm_ros.cli", "launch", mission, "--speed", "0", "--per-drone-processes",
            "--run-dir", str(run), "--json", str(run) + ".json"]
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp)
    while proc.poll() is None and not _says(run, "simulator", "starts in lockstep"):
        time.sleep(0.1)
    t0 = time.monotonic()
    if fault == "drone killed":
        os.kill(_pid(run, "cf2_drone"), signal.SIGKILL)
    elif fault == "recorder stalled":
        recorder = _pid(run, "recorder")
        os.kill(recorder, signal.SIGSTOP)
        time.sleep(STALL)
        os.kill(recorder, signal.SIGCONT)
    try:
        out, _ = proc.communicate(timeout=None if limit is None else max(1.0, t0 + limit - time.monotonic()))
    except subprocess.TimeoutExpired:
        wall = time.monotonic() - t0
        t = mission_time(domain)
        proc.send_signal(signal.SIGINT)
        proc.communicate()
        return {"wall_s": wall, "rtf": (t or 0.0) / wall, "sim_time": t, "lost": None, "data_lost": None,
                "verdict": f"stopped after {wall:.0f} s at mission t={t} s"}
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        error = next((x for x in out.splitlines() if x.startswith("error:")), "")
        return {"wall_s": wall, "rtf": None, "sim_time": None, "lost": None, "data_lost": None,
                "verdict": f"launch exit {proc.returncode}: {error[:80]}"}
    s = json.loads(Path(str(run) + ".json").read_text())
    return {"wall_s": wall, "rtf": s["rtf"], "sim_time": s["sim_time"], "lost": s.get("lost"),
            "data_lost": s.get("data_lost"), "bag_odom_missing": odometry_missing(run / "bag", s["ticks"]), "verdict": out.strip().splitlines()[-1]}


def cell(value) -> str:
    return "-" if value is None else str(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mission", default="rings")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--limit", type=float, help="stop a run this many s after its mission starts; its figure "
                    "is then the mission time reached over the wall time since the start")
    ap.add_argument("--json")
    args = ap.parse_args()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "90"))
    faults = ["peer (no fault)", "drone killed", "recorder stalled"]
    results: dict[str, list[dict]] = {f: [] for f in faults}
    with tempfile.TemporaryDirectory(prefix="bench_faults_") as tmp:
        for r in range(args.repeats):
            for i, fault in enumerate(faults):
                results[fault].append(one_run(args.mission, fault, domain + i, Path(tmp), args.limit))
    def rtf_of(runs):
        values = [x["rtf"] for x in runs if x["rtf"] is not None]
        return median(values) if values else None

    peer = rtf_of(results[faults[0]])
    rows = []
    for fault in faults:
        runs = results[fault]
        rtf = rtf_of(runs)
        lost = "; ".join(f"{e['name']}@{e['t']:g}s" for e in runs[-1]["lost"] or []) or "-"
        rows.append([fault, f"{median([x['wall_s'] for x in runs]):.1f}", "-" if rtf is None else f"{rtf:.2f}", ratio(rtf, peer), lost,
                     sum((runs[-1]["data_lost"] or {}).values()), cell(runs[-1].get("bag_odom_missing")),
                     runs[-1]["verdict"]])
    print(table(["run", "wall s", "x real time", "vs peer", "lost", "odom lost (summary)", "odom missing (bag)",
                 "verdict"], rows,
                title=f"{args.mission}, lockstep, one process per drone ({args.repeats} repeats)"))
    write_json(NAME, {"machine": machine_info(), "mission": args.mission, "results": results}, args.json)


if __name__ == "__main__":
    main()
