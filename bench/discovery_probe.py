"""A light stand-in for one side of a mission's DDS graph, for bench_discovery.py.

    python bench/discovery_probe.py drone cf3          # a drone host: publishes /cf3/cmd, hears /cf3/odom
    python bench/discovery_probe.py ground cf0 cf1 ..  # the simulator's side: every odom out, every cmd in

Same topic names, message types and node names as a real mission (node "drone" in /<drone>,
node "simulator"), with parameter services and rosout like the real per-host processes, so
discovery has the same endpoints to exchange. What differs on purpose: each writer sends one
sample, kept for late readers (reliable, transient local, depth 1), instead of a stream, so
the traffic counted while the graph forms is discovery plus one sample per pair, and the first
sample arrives as soon as the pair has matched.

Protocol on stdin/stdout, so many processes can be started first and then let go together:
prints `ready <t>` once rclpy is loaded, waits for a line `go`, makes the node and prints
`node <t>`, then `heard <drone> <t>` for the first sample of each topic it reads (t: Unix
time, which every network namespace shares). Runs until SIGTERM or stdin closes.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in ("drone", "ground"):
        print("usage: discovery_probe.py drone NAME | ground NAME...", file=sys.stderr)
        return 2
    role, names = args[0], args[1:]

    import rclpy
    from geometry_msgs.msg import TwistStamped
    from nav_msgs.msg import Odometry
    from rclpy.experimental import EventsExecutor
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions

    from swarm_ros import topics

    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    say(f"ready {time.time():.6f}")
    if sys.stdin.readline().strip() != "go":
        return 0
    # stdin closing after `go` means the benchmark is gone: stop then too
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
    heard: set[str] = set()

    def on_first(drone):
        def callback(_msg):
            if drone not in heard:
                heard.add(drone)
                say(f"heard {drone} {time.time():.6f}")
        return callback

    if role == "drone":
        node = rclpy.create_node("drone", namespace=f"/{names[0]}")
        out = {names[0]: node.create_publisher(TwistStamped, topics.of(names[0], topics.CMD), qos)}
        subs = [node.create_subscription(Odometry, topics.of(names[0], topics.ODOM), on_first(names[0]), qos)]
        sample = TwistStamped()
    else:
        node = rclpy.create_node("simulator")
        out = {d: node.create_publisher(Odometry, topics.of(d, topics.ODOM), qos) for d in names}
        subs = [node.create_subscription(TwistStamped, topics.of(d, topics.CMD), on_first(d), qos) for d in names]
        sample = Odometry()
        sample.header.frame_id = topics.WORLD_FRAME
    for drone, pub in out.items():
        if role == "ground":
            sample.child_frame_id = drone
        pub.publish(sample)
    say(f"node {time.time():.6f}")

    executor = EventsExecutor()
    executor.add_node(node)
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
    finally:
        del subs
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


if __name__ == "__main__":
    sys.exit(main())
