"""Gazebo odometry: the body-axes twist gz-sim publishes is turned into world axes, as numbers
(core/frames.py, nodes/cdr.py) and through the gz_odom_adapter node over real DDS."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from scipy.spatial.transform import Rotation

from rosutil import spin_until
from swarm_ros import topics
from swarm_ros.core.frames import body_to_world
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import qos_latest

S = math.sqrt(0.5)


@pytest.mark.parametrize("q, v_body, v_world", [
    ((0, 0, 0, 1), (1, 2, 3), (1, 2, 3)),                 # level, facing east: unchanged
    ((0, 0, S, S), (1, 0, 0), (0, 1, 0)),                 # yaw +90 deg: body forward is north
    ((S, 0, 0, S), (0, 1, 0), (0, 0, 1)),                 # roll +90 deg: body left is up
    ((0, 0.2588190451, 0, 0.9659258263), (1, 0, 0), (0.8660254038, 0, -0.5)),   # pitch +30 deg: nose down
    ((0, 0, 2 * S, 2 * S), (1, 0, 0), (0, 1, 0)),         # a quaternion not of unit length is normalised
])
def test_body_to_world_by_hand(q, v_body, v_world):
    np.testing.assert_allclose(body_to_world(q, v_body), v_world, atol=1e-9)


def test_body_to_world_matches_scipy_rotations_in_batches():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(200, 4))
    v = rng.normal(size=(200, 3))
    want = Rotation.from_quat(q / np.linalg.norm(q, axis=1, keepdims=True)).apply(v)
    np.testing.assert_allclose(body_to_world(q, v), want, atol=1e-12)


def test_odometry_bytes_get_world_twist_and_nothing_else_changes():
    q = Rotation.from_euler("xyz", [0.3, -0.2, 1.1]).as_quat()
    data = cdr.encode_odometry(1_500_000_000, "world", "cf1/base_link", (1, 2, 3), (0.5, 0, 0.1), q, (0, 0, 0.4))
    out = cdr.twist_to_world(data)
    stamp, p, v = cdr.decode_odometry(out)
    assert stamp == 1_500_000_000 and p.tolist() == [1, 2, 3]
    np.testing.assert_allclose(v, Rotation.from_quat(q).apply([0.5, 0, 0.1]), atol=1e-12)
    assert len(out) == len(data) and out[:-12 * 8 - 36 * 8] == data[:-12 * 8 - 36 * 8]
    with pytest.raises(ValueError, match="not a rotation quaternion"):
        cdr.twist_to_world(cdr.encode_odometry(0, "world", "x", (0, 0, 0), (1, 0, 0), (0, 0, 0, 0)))


def test_adapter_node_republishes_world_twist_over_dds(ros_env, ros_context):
    node, executor = ros_context
    got = {}
    for name in ("cf1", "cf2"):
        node.create_subscription(Odometry, topics.of(name, topics.ODOM),
                                 lambda data, name=name: got.setdefault(name, cdr.decode_odometry(data)),
                                 qos_latest(topics.ODOM), raw=True)
    pubs = {name: node.create_publisher(Odometry, topics.of(name, topics.GZ_ODOM), qos_latest(topics.GZ_ODOM))
            for name in ("cf1", "cf2")}
    proc = subprocess.Popen([sys.executable, "-m", "swarm_ros.nodes.gz_odom_adapter", "--ros-args",
                             "-p", "drones:=[cf1,cf2]"], env=ros_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert spin_until(executor, lambda: all(p.get_subscription_count() for p in pubs.values()), 60), \
            "adapter not found"
        yaw90 = (0, 0, S, S)
        tilt = Rotation.from_euler("xyz", [0.2, 0.1, -0.7]).as_quat()

        def send():
            pubs["cf1"].publish(cdr.encode_odometry(2_000_000_000, "world", "cf1", (0, 0, 1), (1, 0, 0), yaw90))
            pubs["cf2"].publish(cdr.encode_odometry(2_000_000_000, "world", "cf2", (3, 0, 1), (0, 0.4, 0.2), tilt))
            return len(got) == 2
        assert spin_until(executor, send, 30), f"adapter output missing: {got}"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    np.testing.assert_allclose(got["cf1"][2], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(got["cf2"][2], Rotation.from_quat(tilt).apply([0, 0.4, 0.2]), atol=1e-12)
    assert got["cf2"][0] == 2_000_000_000 and got["cf2"][1].tolist() == [3, 0, 1]
    assert "Traceback" not in out
