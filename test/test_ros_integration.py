"""Simulator and drone nodes over real DDS in an isolated domain: radio range and loss are
enforced in the ROS path, odometry comes at the control rate, bad radio input is dropped."""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from std_msgs.msg import String
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets, SwarmSummary

from rosutil import spin_until, write_mission
from swarm_ros import topics
from swarm_ros.launching import ProcessGroup, node_specs, ros_environment
from swarm_ros.mission import load_mission
from swarm_ros.nodes import cdr, reports
from swarm_ros.nodes.runtime import qos


def start_graph(mission, ros_domain, log_dir, node, executor, per_drone_processes=False):
    """Start simulator and drones; the simulator waits for the test's observer node as it would
    for the recorder, so the observer sees the mission from its first tick."""
    group = ProcessGroup(ros_environment(ros_domain), log_dir)
    for k, spec in enumerate(node_specs(mission, per_drone_processes=per_drone_processes, speed=0.0, record=False)):
        if spec.required:
            spec.parameters["wait_recorder"] = True
        group.start(spec, k)
    ready = node.create_publisher(String, topics.RECORDER_READY, qos(topics.RECORDER_READY))
    subs = [s for s in node.subscriptions if s.topic_name != topics.SUMMARY]
    assert spin_until(executor, lambda: all(s.get_publisher_count() > 0 for s in subs), 60), "simulator not found"
    ready.publish(String(data="test observer"))
    return group


def test_radio_range_loss_and_odometry_rate_over_dds(tmp_path, ros_domain, ros_context):
    node, executor = ros_context
    # a-b 2 m apart (in range 5 m), c 15 m away (out of range of both)
    mission = load_mission(write_mission(tmp_path, {"a": (0, 0, 0), "b": (2, 0, 0), "c": (15, 0, 0)},
                                         radio={"range": 5.0, "loss": 0.3, "beacon_rate": 10}))
    heard = {d: [] for d in "abc"}
    odom = []
    summary = []
    for d in "abc":
        node.create_subscription(RadioPackets, topics.of(d, topics.RADIO_RX),
                                 lambda m, d=d: heard[d].extend(s for s, _, _ in cdr.decode_radio_packets(m)),
                                 qos(topics.RADIO_RX), raw=True)
    node.create_subscription(Odometry, topics.of("a", topics.ODOM), lambda data: odom.append(cdr.decode_odometry(data)),
                             qos(topics.ODOM), raw=True)
    node.create_subscription(SwarmSummary, topics.SUMMARY, lambda m: summary.append(reports.summary_dict(m)),
                             qos(topics.SUMMARY))
    # a malformed beacon (a NaN position): it must be dropped, not crash the simulator
    bad_pub = node.create_publisher(RadioBeacon, topics.of("a", topics.RADIO_TX), qos(topics.RADIO_TX))
    bad = RadioBeacon(sender="a", sent_at=1.0)
    bad.position.x = float("nan")

    group = start_graph(mission, ros_domain, tmp_path / "logs", node, executor)
    try:
        assert spin_until(executor, lambda: len(odom) > 20, 30), "no odometry from the simulator"
        bad_pub.publish(bad)
        # a command from the future (say, `ros2 topic pub` with a wall-clock stamp) is ignored
        future = TwistStamped()
        future.header.stamp.sec = 10**6
        future.twist.linear.x = 5.0
        node.create_publisher(TwistStamped, topics.of("a", topics.CMD), qos(topics.CMD)).publish(future)
        assert spin_until(executor, lambda: summary, 90), "the simulator never finished"
        spin_until(executor, lambda: False, 1.0)     # take in what is still queued
    finally:
        group.stop()
    assert [(spec.executable, code) for spec, code, _ in group.failed()] == []
    s = summary[0]
    assert s["drones"][0]["late_ticks"] == 0 and s["drones"][0]["landed"]
    assert set(heard["a"]) == {"b"} and set(heard["b"]) == {"a"} and heard["c"] == []
    # what the observer heard is what the radio delivered (it may miss the first tick while its
    # own subscription is being matched); the loss rate is near 30 %
    assert s["radio"]["delivered"] - 2 <= len(heard["a"]) + len(heard["b"]) <= s["radio"]["delivered"]
    assert s["radio"]["links"] == 2 * s["radio"]["sent"] / 3     # 2 of 3 drones have a neighbour in range
    lost = s["radio"]["lost"] / s["radio"]["links"]
    n = s["radio"]["links"]
    assert abs(lost - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    # odometry: one message per tick, stamped at exactly the control period
    stamps = sorted({st for st, _, _ in odom})
    assert stamps == [round(k * 1e9 / 50) for k in range(mission.ticks)]
    assert "malformed" in (tmp_path / "logs").joinpath("00_simulator.log").read_text()
    hover = [p for st, p, _ in odom if 3.0e9 < st < 3.4e9]     # the task phase: hold 1 m
    assert np.allclose([p[2] for p in hover], 1.0, atol=0.05)


def test_one_process_per_drone(tmp_path, ros_domain, ros_context):
    node, executor = ros_context
    mission = load_mission(write_mission(tmp_path, {"a": (0, 0, 0), "b": (1, 0, 0)},
                                         radio={"range": 5.0}, duration=6.0))
    summary = []
    node.create_subscription(SwarmSummary, topics.SUMMARY, lambda m: summary.append(reports.summary_dict(m)),
                             qos(topics.SUMMARY))
    group = start_graph(mission, ros_domain, tmp_path / "logs", node, executor, per_drone_processes=True)
    try:
        assert len(group.procs) == 3
        assert spin_until(executor, lambda: summary, 90)
    finally:
        group.stop()
    assert [(spec.namespace, code) for spec, code, _ in group.failed()] == []
    s = summary[0]
    assert s["late_ticks"] == 0 and s["collisions"] == 0 and all(d["landed"] for d in s["drones"])
