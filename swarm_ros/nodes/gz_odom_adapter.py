"""Gazebo odometry adapter: turns gz-sim's odometry twist from body axes into world axes.

gz-sim's OdometryPublisher reports the twist in the drone's body frame; the drone nodes read
world-frame (ENU) velocity on /<drone>/odom. The bridge delivers gz's odometry on
/<drone>/gz/odom; this node rotates each message's twist by the message's own orientation
(nodes/cdr.twist_to_world, bytes otherwise unchanged) and republishes it on /<drone>/odom.
One process serves every drone named in the `drones` parameter (launch/gazebo.launch.py).
"""
from __future__ import annotations

import sys

from nav_msgs.msg import Odometry

from swarm_ros import topics
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import Process, qos_latest


def adapt(node, drone: str):
    """Subscribe to the drone's gz odometry and republish it in world axes."""
    pub = node.create_publisher(Odometry, topics.of(drone, topics.ODOM), qos_latest(topics.ODOM))
    log = node.get_logger()

    def on_gz_odom(data: bytes) -> None:
        try:
            pub.publish(cdr.twist_to_world(data))
        except ValueError as err:
            log.warning(f"{drone}: dropped unusable gz odometry: {err}", throttle_duration_sec=5.0)
    node.create_subscription(Odometry, topics.of(drone, topics.GZ_ODOM), on_gz_odom, qos_latest(topics.GZ_ODOM),
                             raw=True)


def main(argv=None) -> int:
    with Process(argv) as proc:
        drones = [d for d in proc.parameters({"drones": [""]})["drones"] if d]
        if not drones:
            print("error: gz_odom_adapter: drones: no drone names given; allowed: a list of drone names "
                  "(--ros-args -p drones:=[cf1,cf2])", file=sys.stderr)
            return 2
        node = proc.node("gz_odom_adapter")
        for d in drones:
            adapt(node, d)
        return proc.spin([node])


if __name__ == "__main__":
    raise SystemExit(main())
