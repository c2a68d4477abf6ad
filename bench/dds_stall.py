"""A stalled DDS reader: how long after it resumes does it hold what was sent meanwhile?

    python bench/dds_stall.py                      # stalls of 1.5 s and 4 s, 8 each, both profiles (~4 min)
    python bench/dds_stall.py --stalls 1.5 --repeats 20

A loaded machine can stop a process for a second or more. A reliable writer publishes every
40 ms to a reader in another process; the reader is stopped (SIGSTOP) for the stall, then
resumed; measured: wall s from SIGCONT until the reader has every sample published during the
stall (a sample it missed comes only when a writer heartbeat makes the writer resend it).
Compared in the same run: our one-machine profile (swarm_ros/dds_profile_loopback.xml, writer
heartbeats every 100 ms) against the same profile with Fast DDS's default 3 s heartbeat (the
peer). A repeat whose samples are not all in within --limit s counts as never.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, table, write_json  # noqa: E402

NAME = "dds_stall"
ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "swarm_ros" / "dds_profile_loopback.xml"
PERIOD = 0.04    # s between samples
READER = r'''
import sys, time
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Int64
rclpy.init()
node = rclpy.create_node("stall_reader")
node.create_subscription(Int64, "stall", lambda m: print(m.data, time.time(), flush=True),
                         QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST))
while True:
    rclpy.spin_once(node, timeout_sec=0.05)
'''


def default_heartbeat_profile(folder: Path) -> Path:
    """Our profile without its data_writer section: Fast DDS's default 3 s heartbeat."""
    text = re.sub(r"\s*<data_writer .*?</data_writer>", "", PROFILE.read_text(), flags=re.S)
    path = folder / "default_heartbeat.xml"
    path.write_text(text)
    return path


def measure(profile: Path, stalls: list[float], repeats: int, limit: float, domain: int) -> dict:
    """One writer (this process) and one reader process; {stall: [delay s or None]}."""
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(domain),
               FASTDDS_DEFAULT_PROFILES_FILE=str(profile))
    script = (f"import os\nos.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = {str(profile)!r}\n"
              f"os.environ['ROS_DOMAIN_ID'] = '{domain}'\n"
              "os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'\n")
    reader = subprocess.Popen([sys.executable, "-c", READER], env=env, stdout=subprocess.PIPE, text=True)
    writer = subprocess.Popen([sys.executable, "-c", script + WRITER, str(reader.pid), str(limit),
                               *[f"{s}:{repeats}" for s in stalls]], env=env, stdout=subprocess.PIPE, text=True)
    got: dict[int, float] = {}

    def read():
        for line in reader.stdout:
            k, t = line.split()
            got[int(k)] = float(t)
    threading.Thread(target=read, daemon=True).start()
    out: dict[float, list] = {s: [] for s in stalls}
    try:
        for line in writer.stdout:       # "stall first last t_cont" per repeat, once that repeat is settled
            stall, first, last, t_cont = line.split()
            deadline = float(t_cont) + limit
            while time.time() < deadline and not all(j in got for j in range(int(first), int(last) + 1)):
                time.sleep(0.01)
            done = [got.get(j) for j in range(int(first), int(last) + 1)]
            out[float(stall)].append(None if None in done else max(done) - float(t_cont))
    finally:
        for p in (writer, reader):
            p.kill()
            p.wait()
    return out


WRITER = r'''
import os, signal, sys, time
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Int64
reader, limit = int(sys.argv[1]), float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("stall_writer")
pub = node.create_publisher(Int64, "stall", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                                                        history=HistoryPolicy.KEEP_LAST))
while pub.get_subscription_count() == 0:
    rclpy.spin_once(node, timeout_sec=0.05)
k = 0
def send(seconds):
    global k
    end = time.time() + seconds
    while time.time() < end:
        pub.publish(Int64(data=k)); k += 1
        rclpy.spin_once(node, timeout_sec=0.0)
        time.sleep(0.04)
send(1.0)
for spec in sys.argv[3:]:
    stall, repeats = float(spec.split(":")[0]), int(spec.split(":")[1])
    for _ in range(repeats):
        send(1.0)
        os.kill(reader, signal.SIGSTOP)
        first = k
        send(stall)
        last = k - 1
        os.kill(reader, signal.SIGCONT)
        t_cont = time.time()
        print(stall, first, last, t_cont, flush=True)
        send(limit)     # keep publishing, as a mission does, while the reader catches up
'''


def summary(delays: list) -> dict:
    found = [d for d in delays if d is not None]
    return {"median": statistics.median(found) if found else None, "max": max(found) if found else None,
            "never": len(delays) - len(found), "delays": delays}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stalls", default="1.5,4", help="stall lengths, s (comma-separated)")
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--limit", type=float, default=3.0, help="s after resuming before a repeat counts as never")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    stalls = [float(s) for s in args.stalls.split(",")]
    domain = int(os.environ.get("ROS_DOMAIN_ID", "172"))
    with tempfile.TemporaryDirectory(prefix="dds_stall_") as tmp:
        runs = {"ours (100 ms heartbeat)": measure(PROFILE, stalls, args.repeats, args.limit, domain),
                "peer (3 s default heartbeat)": measure(default_heartbeat_profile(Path(tmp)), stalls,
                                                        args.repeats, args.limit, domain)}
    results = {name: {str(s): summary(d) for s, d in r.items()} for name, r in runs.items()}
    fmt = lambda x: "-" if x is None else f"{x:.2f}"   # noqa: E731
    rows = [[name, f"{s:g}", fmt(r[str(s)]["median"]), fmt(r[str(s)]["max"]),
             f"{r[str(s)]['never']}/{args.repeats}"] for name, r in results.items() for s in stalls]
    print(table(["profile", "stall (s)", "median (s)", "max (s)", f"never (> {args.limit:g} s)"], rows,
                title="Samples sent to a stalled reader: in, s after it resumed"))
    write_json(NAME, {"machine": machine_info(), "stalls": stalls, "repeats": args.repeats, "limit": args.limit,
                      "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
