"""The ros_gz_bridge entries that connect the drone nodes to a Gazebo world exported by sim/gazebo.py.

They name ROS topics, so they live above sim/ (which knows no topics).
"""
from __future__ import annotations

from . import topics


def bridge_config(mission) -> list[dict]:
    """Each drone's odometry from gz (onto gz/odom: its twist is in body axes, nodes/gz_odom_adapter.py
    republishes it on odom in world axes), its velocity setpoints to gz."""
    out = []
    for d in mission.fleet.drones:
        out.append({"ros_topic_name": topics.of(d.name, topics.GZ_ODOM), "gz_topic_name": f"/model/{d.name}/odometry",
                    "ros_type_name": topics.TYPES[topics.GZ_ODOM], "gz_type_name": "gz.msgs.Odometry",
                    "direction": "GZ_TO_ROS"})
        out.append({"ros_topic_name": topics.of(d.name, topics.CMD), "gz_topic_name": f"/{d.name}/cmd_vel",
                    "ros_type_name": topics.TYPES[topics.CMD], "gz_type_name": "gz.msgs.Twist",
                    "direction": "ROS_TO_GZ"})
    return out
