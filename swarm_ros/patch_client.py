"""The ROS side of `swarm-ros patch push` and `patch status`: a short-lived node on the mission's
ROS domain that hands a patch to the update server, or reads every drone's update/status."""
from __future__ import annotations

import hashlib
import os
import time


class NoServer(RuntimeError):
    """No update server answered: no mission with an `updates` section runs on this domain."""


def _node(domain_id: int | None):
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if domain_id is not None:
        os.environ["ROS_DOMAIN_ID"] = str(domain_id)
    import rclpy
    rclpy.init(args=[])
    return rclpy, rclpy.create_node("swarm_patch_cli", start_parameter_services=False, enable_rosout=False)


def push(data: bytes, domain_id: int | None = None, timeout: float = 20.0) -> dict:
    """Publish the patch to the server and return its answer to this push (state serving or
    refused), told from the latched answer to an earlier push by the SHA-256 of the bytes."""
    from std_msgs.msg import UInt8MultiArray
    from swarm_ros_interfaces.msg import UpdateOffer

    from swarm_ros import topics
    from swarm_ros.nodes.reports import update_offer_dict
    from swarm_ros.nodes.runtime import qos
    rclpy, node = _node(domain_id)
    answers, mine = [], hashlib.sha256(data).hexdigest()[:16]
    try:
        pub = node.create_publisher(UInt8MultiArray, topics.PATCH_PUSH, qos(topics.PATCH_PUSH))
        node.create_subscription(UpdateOffer, topics.SERVER_STATE, lambda m: answers.append(update_offer_dict(m)),
                                 qos(topics.SERVER_STATE))
        end = time.monotonic() + timeout
        while pub.get_subscription_count() == 0:
            if time.monotonic() > end:
                raise NoServer(f"no update server within {timeout:g} s on ROS_DOMAIN_ID="
                               f"{os.environ.get('ROS_DOMAIN_ID', '0')} (is a mission with an `updates` section flying?)")
            rclpy.spin_once(node, timeout_sec=0.1)
        pub.publish(UInt8MultiArray(data=data))
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
            for a in answers:
                if a.get("push") == mine:
                    return a
        raise NoServer(f"the update server did not answer within {timeout:g} s")
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def collect_status(names, domain_id: int | None = None, timeout: float = 5.0, done=None) -> dict:
    """name -> last update/status of each drone, read until every drone has reported and
    `done(statuses)` holds (if given), or `timeout`."""
    from swarm_ros_interfaces.msg import UpdateStatus

    from swarm_ros import topics
    from swarm_ros.nodes.reports import update_status_dict
    from swarm_ros.nodes.runtime import qos
    rclpy, node = _node(domain_id)
    out: dict = {}
    try:
        for name in names:
            node.create_subscription(UpdateStatus, topics.of(name, topics.UPDATE_STATUS),
                                     lambda m, n=name: out.__setitem__(n, update_status_dict(m)),
                                     qos(topics.UPDATE_STATUS))
        end = time.monotonic() + timeout
        finished = lambda s: len(s) == len(names) and (done is None or done(s))   # noqa: E731
        while time.monotonic() < end and not finished(out):
            rclpy.spin_once(node, timeout_sec=0.1)
        return out
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
