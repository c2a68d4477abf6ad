"""Conversions between ROS messages and numpy arrays for the low-rate messages (the per-tick
odometry and commands are packed directly, see cdr.py).

Radio messages are typed (swarm_ros_interfaces): a drone sends one RadioBeacon on radio/tx;
the radio delivers a RadioPackets batch (the beacons one drone received in one tick) on
radio/rx. In arrays a beacon is position, velocity, body radius, group, payload
(control/contract.py), with the sender's name and the mission time it was sent beside it.
"""
from __future__ import annotations

import array
import json

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from std_msgs.msg import Float64MultiArray, String
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets

from swarm_ros.control.contract import BEACON_SIZE


def ros_time(ns: int) -> Time:
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def beacon_message(sender: str, sent_at: float, beacon) -> RadioBeacon:
    """A beacon array (control/contract.py layout) as the RadioBeacon a drone broadcasts."""
    b = np.asarray(beacon, float)
    if len(b) < BEACON_SIZE:
        raise ValueError(f"a beacon has at least {BEACON_SIZE} numbers, got {len(b)}")
    msg = RadioBeacon(sender=sender, sent_at=float(sent_at), radius=float(b[6]), group=int(b[7]))
    msg.position.x, msg.position.y, msg.position.z = float(b[0]), float(b[1]), float(b[2])
    msg.velocity.x, msg.velocity.y, msg.velocity.z = float(b[3]), float(b[4]), float(b[5])
    if len(b) > BEACON_SIZE:
        msg.payload = array.array("d", b[BEACON_SIZE:].tolist())
    return msg


def beacon_unpack(msg: RadioBeacon) -> tuple[str, float, np.ndarray]:
    """(sender, sent_at, beacon array) of a RadioBeacon; non-finite numbers raise ValueError."""
    p, v = msg.position, msg.velocity
    beacon = np.array([p.x, p.y, p.z, v.x, v.y, v.z, msg.radius, msg.group, *msg.payload], float)
    if not (np.isfinite(beacon).all() and np.isfinite(msg.sent_at)):
        raise ValueError(f"beacon from {msg.sender!r} holds non-finite numbers")
    return msg.sender, float(msg.sent_at), beacon


def radio_packets(senders: list[str], stamps, beacons) -> RadioPackets:
    """The beacons one drone receives in one tick."""
    return RadioPackets(beacons=[beacon_message(name, stamp, beacon)
                                 for name, stamp, beacon in zip(senders, stamps, beacons)])


def radio_unpack(msg: RadioPackets) -> list[tuple[str, float, np.ndarray]]:
    """[(sender, stamp, beacon)] from a radio delivery; malformed beacons raise ValueError."""
    return [beacon_unpack(b) for b in msg.beacons]


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
