"""`swarm-ros analyze` reading speed and memory, against the notebook way in the same run.

    python bench/bench_analyze.py                 # 20 drones x 300 s at 50 Hz (300k odometry messages)
    python bench/bench_analyze.py --quick         # 20 drones x 60 s
    python bench/bench_analyze.py --drones 50 --duration 120 --json /tmp/analyze.json

A bag (MCAP, as the recorder writes it) is generated once, then each contender runs in its own
process, so its peak RSS is its own:

- read: `swarm_ros.analysis.bag.read_bag` alone (streaming, field readers on the raw CDR);
- analyze: the whole `analyze()` (read, grid, separation/collisions, order parameters, radio...);
- peer (notebook): rosbags AnyReader, all messages into a list, each deserialized with
  `reader.deserialize`, positions into per-drone lists, then minimum separation per time step
  with numpy pairwise distances in a Python loop over steps.

Correctness guard: both must find the same minimum separation (to 1e-9 m) before anything is
reported. Figures are medians of repeats; numpy is held to one thread.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, ratio, si, single_thread_env, table, write_json  # noqa: E402

single_thread_env()

NAME = "bench_analyze"
RATE = 50.0

CHILD = r"""
import json, resource, sys, time
kind, bag = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if kind == "read":
    from swarm_ros.analysis.bag import read_bag
    rec = read_bag(bag)
    n, result = rec.messages_read, None
elif kind == "analyze":
    from swarm_ros.analysis.metrics import analyze
    m = analyze(bag).metrics
    n, result = m["messages_read"], m["separation"]["min"]
else:
    import numpy as np
    from rosbags.highlevel import AnyReader
    with AnyReader([__import__("pathlib").Path(bag)]) as reader:
        msgs = list(reader.messages())
        tracks = {}
        for conn, _, raw in msgs:
            m = reader.deserialize(raw, conn.msgtype)
            p = m.pose.pose.position
            tracks.setdefault(conn.topic, {})[m.header.stamp.sec * 10**9 + m.header.stamp.nanosec] = (p.x, p.y, p.z)
    stamps = sorted(set.intersection(*(set(t) for t in tracks.values())))
    best = float("inf")
    for s in stamps:
        p = np.array([t[s] for t in tracks.values()])
        d = np.linalg.norm(p[:, None] - p[None], axis=2)
        np.fill_diagonal(d, np.inf)
        best = min(best, float(d.min()))
    n, result = len(msgs), best
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "messages": n, "result": result,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_bag(path: Path, drones: int, duration: float) -> Path:
    import numpy as np
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from swarm_ros.nodes.cdr import encode_odometry
    store = get_typestore(Stores.ROS2_KILTED)
    steps = int(duration * RATE)
    rng = np.random.default_rng(1)
    start = rng.uniform([-20, -20, 1], [20, 20, 5], (drones, 3))
    pos = start + np.cumsum(rng.normal(0, 0.02, (steps, drones, 3)), axis=0)
    w = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    w.open()
    conns = [w.add_connection(f"/d{k}/odom", "nav_msgs/msg/Odometry", typestore=store) for k in range(drones)]
    for s in range(steps):
        ns = int(round(s * 1e9 / RATE))
        for k, c in enumerate(conns):
            w.write(c, ns + 1000 * k, encode_odometry(ns, "world", f"d{k}/base_link", pos[s, k], (0, 0, 0)))
    w.close()
    return path


def run_child(kind: str, bag: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(bag)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drones", type=int, default=20)
    ap.add_argument("--duration", type=float, default=300.0, help="s of flight at 50 Hz")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="60 s of flight, 2 repeats")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.repeats = 60.0, 2
    with tempfile.TemporaryDirectory() as tmp:
        bag = make_bag(Path(tmp) / "bag", args.drones, args.duration)
        size = sum(f.stat().st_size for f in bag.iterdir())
        runs = {k: [run_child(k, bag) for _ in range(args.repeats)] for k in ("read", "analyze", "peer")}
    ours, peer = runs["analyze"][0]["result"], runs["peer"][0]["result"]
    if abs(ours - peer) > 1e-9:
        raise SystemExit(f"correctness guard failed: analyze min separation {ours} != peer {peer}")
    rows, results = [], {}
    for kind, label in (("read", "read_bag (stream + field readers)"), ("analyze", "analyze() (everything)"),
                        ("peer", "peer: read all, deserialize, loop")):
        wall = median([r["wall"] for r in runs[kind]])
        rss = median([r["peak_rss_mb"] for r in runs[kind]])
        rate = runs[kind][0]["messages"] / wall
        results[kind] = {"wall_s": [r["wall"] for r in runs[kind]], "messages": runs[kind][0]["messages"],
                         "messages_per_s": rate, "peak_rss_mb": rss}
        rows.append([label, f"{wall:.2f}", si(rate), f"{rss:.0f}",
                     ratio(median([r["wall"] for r in runs["peer"]]), wall) if kind != "peer" else "1x"])
    print(table(["contender", "wall (s)", "msgs/s", "peak RSS (MB)", "vs peer"], rows,
                title=f"{args.drones} drones x {args.duration:g} s at {RATE:g} Hz: "
                      f"{results['read']['messages']:,} odometry messages, bag {size / 1e6:.0f} MB"))
    write_json(NAME, {"machine": machine_info(), "drones": args.drones, "duration": args.duration,
                      "bag_bytes": size, "min_separation": ours, "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
