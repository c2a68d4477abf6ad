"""What one live-view frame costs the process that flies the swarm, against the ROS marker view.

    python bench/bench_live_view.py            # N = 6, 50, 200: about 30 s
    python bench/bench_live_view.py --quick    # about 10 s

Per frame, for N drones of a synthetic mission (bench/scenarios.py) with full trails:
- live view: live_scene.SwarmScene builds the drone scene (bodies, labels, trails, radio links) and
  encodes it as foxglove.SceneUpdate (protobuf), plus the telemetry JSON; this is the CPU work
  LiveView.frame adds to the flying loop (the server sends on its own threads);
- peer: the ROS swarm view node's handler of one /swarm/poses message (nodes/swarm_view.py:
  MarkerArray with a body and a label per drone, published by a real rclpy node), which is what a
  ROS run pays per pose message for RViz and Foxglove-over-ROS viewers.
The live view sends at most 20 frames per second of mission time, the ROS view `view_rate` (10).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (calibrate_steps, machine_info, median, ratio, single_thread_env, table,  # noqa: E402
                    time_repeats, write_json)

single_thread_env()
import numpy as np  # noqa: E402

from scenarios import write_scaled_mission  # noqa: E402
from swarm_ros.live_scene import TRAIL_S, TRAIL_STEP, SwarmScene  # noqa: E402
from swarm_ros.mission import load_mission  # noqa: E402

DOMAIN = 96     # benchmarks use ROS domains 90-99


def live_frame(mission):
    scene = SwarmScene(mission)
    n = len(mission.fleet.drones)
    rng = np.random.default_rng(1)
    p0 = np.array([d.start for d in mission.fleet.drones], float) + [0, 0, 1.0]
    v = rng.normal(0, 0.5, (n, 3))
    t = [0.0]
    for _ in range(int(TRAIL_S / TRAIL_STEP) + 1):      # full trails, as in flight
        t[0] += TRAIL_STEP
        scene.drones(t[0], p0)

    def run(steps: int) -> None:
        for _ in range(steps):
            t[0] += TRAIL_STEP
            scene.drones(t[0], p0 + 0.01 * t[0]).encode()
            json.dumps(scene.telemetry(t[0], p0, v)).encode()
    return run


def ros_markers(mission, node):
    from geometry_msgs.msg import Pose, PoseArray
    from swarm_ros.nodes.swarm_view import SwarmView
    view = SwarmView(node, mission)
    msg = PoseArray()
    for d in mission.fleet.drones:
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = (float(c) for c in d.start)
        msg.poses.append(pose)

    def run(steps: int) -> None:
        for k in range(steps):
            msg.header.stamp.sec = k
            view.on_poses(msg)
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing runs")
    ap.add_argument("--sizes", type=int, nargs="+", default=[6, 50, 200])
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    target, repeats = (0.2, 3) if args.quick else (0.6, 5)
    import rclpy
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=DOMAIN)
    node = rclpy.create_node("bench_live_view", context=context, enable_rosout=False, start_parameter_services=False)
    rows, results = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in args.sizes:
                mission = load_mission(write_scaled_mission(Path(tmp) / f"n{n}", n))
                cases = {"live view (foxglove)": live_frame(mission), "ROS markers (swarm_view)": ros_markers(mission, node)}
                per_frame = {}
                for name, fn in cases.items():
                    steps = calibrate_steps(fn, target)
                    times = time_repeats(fn, steps, repeats)
                    per_frame[name] = median(times) / steps
                    results.append({"n": n, "case": name, "steps": steps, "repeats_s": times,
                                    "ms_per_frame": 1e3 * per_frame[name]})
                live, peer = per_frame["live view (foxglove)"], per_frame["ROS markers (swarm_view)"]
                rows.append([n, f"{1e3 * live:.3g}", f"{1e3 * peer:.3g}", ratio(live, peer),
                             f"{100 * 20 * live:.2g} %"])
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    print(table(["N", "live ms/frame", "ROS markers ms/frame", "live / ROS", "core at 20 frames/s"], rows,
                title="one view frame: build + encode (median of repeats)"))
    write_json("bench_live_view", {"machine": machine_info(), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
