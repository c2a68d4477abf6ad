"""The swarm view node moves one set of drone markers frame by frame: every published frame
must carry the poses it was made from, not those of a later frame."""
from __future__ import annotations

import time

import rclpy
from geometry_msgs.msg import Pose, PoseArray
from visualization_msgs.msg import MarkerArray

from swarm_ros import topics
from swarm_ros.nodes.runtime import qos
from swarm_ros.nodes.swarm_view import SwarmView


def poses(n: int, x: float, sec: int) -> PoseArray:
    msg = PoseArray()
    msg.header.stamp.sec = sec
    for k in range(n):
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = x, float(k), 1.0
        msg.poses.append(pose)
    return msg


def test_each_marker_frame_holds_its_own_poses(ros_context, rings_mission):
    node, executor = ros_context
    got: list[MarkerArray] = []
    node.create_subscription(MarkerArray, topics.MARKERS, got.append, qos(topics.MARKERS))
    view_node = rclpy.create_node("view", context=node.context, enable_rosout=False, start_parameter_services=False)
    try:
        view = SwarmView(view_node, rings_mission)
        n = len(rings_mission.fleet.drones)
        deadline = time.monotonic() + 10
        while view.pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        view.on_poses(poses(n, 1.0, 1))
        view.on_poses(poses(n, 2.0, 2))
        while len(got) < 2 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        view_node.destroy_node()
    assert [m.markers[0].header.stamp.sec for m in got] == [1, 2]
    for frame, x in zip(got, (1.0, 2.0)):
        bodies = [m for m in frame.markers if m.ns == "drones"]
        labels = [m for m in frame.markers if m.ns == "labels"]
        assert len(bodies) == len(labels) == n
        assert [m.pose.position.x for m in bodies + labels] == [x] * (2 * n)
        assert [m.pose.position.y for m in bodies] == [float(k) for k in range(n)]
        assert all(lab.pose.position.z > body.pose.position.z for body, lab in zip(bodies, labels))
