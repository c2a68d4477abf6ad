"""Read the few fields the analysis needs straight from serialized (CDR) messages.

A full deserialization of nav_msgs/Odometry builds two 36-double covariance arrays and a tree of
objects (tens of microseconds); the analysis needs the stamp and the position, which sit at
offsets fixed by the two frame strings. These readers handle plain little-endian CDR, which is
what every ROS 2 rmw writes; anything else returns None and the caller falls back to the bag
reader's full deserializer. Truncated or inconsistent bytes raise ValueError.
"""
from __future__ import annotations

import struct

_STAMP_AND_LEN = struct.Struct("<iII")
_U32 = struct.Struct("<I")
_XYZ = struct.Struct("<3d")
_DIM_TAIL = struct.Struct("<II")
_ODOM_TAIL = (7 + 36 + 6 + 36) * 8     # pose, its covariance, twist, its covariance (doubles)


def _plain_le(data) -> bool:
    return len(data) >= 4 and data[0] == 0 and data[1] == 1


def _skip_string(data, off: int) -> int:
    """Offset (from the start of the body, after the 4-byte header) just past a CDR string."""
    off = (off + 3) & ~3
    (n,) = _U32.unpack_from(data, 4 + off)
    off += 4 + n
    if 4 + off > len(data):
        raise ValueError(f"string of {n} bytes overruns a {len(data)}-byte message")
    return off


def odometry_stamp_position(data) -> tuple[int, float, float, float] | None:
    """(header stamp in ns, x, y, z) of a serialized nav_msgs/Odometry, or None if not plain LE CDR."""
    if not _plain_le(data):
        return None
    try:
        sec, nsec, n = _STAMP_AND_LEN.unpack_from(data, 4)
        off = 12 + n                                  # stamp (8) + frame_id length (4) + frame_id
        off = _skip_string(data, off)                 # child_frame_id
        off = (off + 7) & ~7
        if 4 + off + _ODOM_TAIL > len(data):
            raise ValueError(f"truncated Odometry ({len(data)} bytes, pose and twist need {4 + off + _ODOM_TAIL})")
        x, y, z = _XYZ.unpack_from(data, 4 + off)
    except struct.error as err:
        raise ValueError(f"truncated Odometry ({len(data)} bytes): {err}") from None
    return sec * 1_000_000_000 + nsec, x, y, z


def multiarray_labels(data) -> list[str] | None:
    """Labels of layout.dim of a serialized std_msgs/Float64MultiArray (radio: one per packet)."""
    if not _plain_le(data):
        return None
    try:
        (count,) = _U32.unpack_from(data, 4)
        if count > len(data):
            raise ValueError(f"{count} dimensions in a {len(data)}-byte message")
        labels, off = [], 4
        for _ in range(count):
            start = ((off + 3) & ~3) + 4
            off = _skip_string(data, off)
            labels.append(bytes(data[4 + start:4 + off - 1]).decode("utf-8", "replace"))
            off = (off + 3) & ~3
            _DIM_TAIL.unpack_from(data, 4 + off)      # size, stride: present, values unused
            off += 8
    except struct.error as err:
        raise ValueError(f"truncated Float64MultiArray ({len(data)} bytes): {err}") from None
    return labels


def string_data(data) -> str | None:
    """The text of a serialized std_msgs/String."""
    if not _plain_le(data):
        return None
    try:
        (n,) = _U32.unpack_from(data, 4)
    except struct.error as err:
        raise ValueError(f"truncated String ({len(data)} bytes): {err}") from None
    if n < 1 or 8 + n > len(data):
        raise ValueError(f"String of {n} bytes in a {len(data)}-byte message")
    return bytes(data[8:8 + n - 1]).decode("utf-8", "replace")


_BEACON_NUMBERS = 8 * 8                 # sent_at, position (3), velocity (3), radius: doubles


def packets_senders(data) -> list[str] | None:
    """Sender of each beacon in a serialized swarm_ros_interfaces/RadioPackets."""
    if not _plain_le(data):
        return None
    try:
        (count,) = _U32.unpack_from(data, 4)
        if count > len(data):
            raise ValueError(f"{count} beacons in a {len(data)}-byte message")
        senders, off = [], 4
        for _ in range(count):
            start = ((off + 3) & ~3) + 4
            off = _skip_string(data, off)
            senders.append(bytes(data[4 + start:4 + off - 1]).decode("utf-8", "replace"))
            off = ((off + 7) & ~7) + _BEACON_NUMBERS + 4          # the doubles, then int32 group
            (n,) = _U32.unpack_from(data, 4 + off)                # payload length (aligned: off is)
            off += 4
            if n:
                off = ((off + 7) & ~7) + 8 * n
            if 4 + off > len(data):
                raise ValueError(f"beacon from {senders[-1]!r} overruns a {len(data)}-byte message")
    except struct.error as err:
        raise ValueError(f"truncated RadioPackets ({len(data)} bytes): {err}") from None
    return senders
