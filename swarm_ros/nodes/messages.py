"""Conversions between ROS messages and numpy arrays for the low-rate messages (the per-tick
odometry and commands are packed directly, see cdr.py).

Radio messages (swarm_ros_interfaces RadioBeacon and RadioPackets) are per-tick traffic too:
cdr.py packs and reads them.
"""
from __future__ import annotations

import array
import json

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from std_msgs.msg import Float64MultiArray, String


def ros_time(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def numbers(values) -> Float64MultiArray:
    """Plain numbers (CAO reports and answers)."""
    msg = Float64MultiArray()
    msg.data = array.array("d", np.asarray(values, float).ravel().tolist())
    return msg


def numbers_unpack(msg: Float64MultiArray, size: int | tuple) -> np.ndarray:
    """The numbers of `msg`, which must be finite and `size` many (or within a (min, max))."""
    data = np.asarray(msg.data, float)
    lo, hi = (size, size) if isinstance(size, int) else size
    if not lo <= len(data) <= hi or not np.isfinite(data).all():
        raise ValueError(f"expected {lo if lo == hi else f'{lo} to {hi}'} finite numbers, got {len(data)}")
    return data


def json_message(payload: dict) -> String:
    return String(data=json.dumps(payload, separators=(",", ":")))


def seconds_stamp(t: float) -> Time:
    return ros_time(int(round(float(t) * 1e9)))


def path_message(answer: np.ndarray, frame: str) -> Path:
    """A planner answer [id, K, K x (t, x, y, z)] as nav_msgs/Path: header.stamp = id, each pose
    stamped with its mission time."""
    from swarm_ros.planning.service import decode_answer
    rid, times, points = decode_answer(answer)
    msg = Path()
    msg.header.stamp, msg.header.frame_id = seconds_stamp(rid), frame
    for t, p in zip(times, points):
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = seconds_stamp(t), frame
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = (float(v) for v in p)
        pose.pose.orientation.w = 1.0
        msg.poses.append(pose)
    return msg


def path_unpack(msg: Path) -> np.ndarray:
    """The planner answer carried by a nav_msgs/Path (see path_message)."""
    def sec(stamp) -> float:
        return stamp.sec + stamp.nanosec * 1e-9
    rows = [(sec(p.header.stamp), p.pose.position.x, p.pose.position.y, p.pose.position.z) for p in msg.poses]
    return np.r_[sec(msg.header.stamp), len(rows), np.asarray(rows, float).reshape(-1)]
