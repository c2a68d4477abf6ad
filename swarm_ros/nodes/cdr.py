"""Direct CDR encoding of the messages every drone sends or receives each tick: nav_msgs/Odometry,
geometry_msgs/TwistStamped, and the radio's swarm_ros_interfaces RadioBeacon and RadioPackets.

Building rclpy message objects costs about 50 us (Odometry: two 36-double covariances) and
deserializing one about 70 us (a RadioPackets delivery of 5 beacons: about 500 us, a tree of
Point and Vector3 objects); packing the same bytes with `struct` costs a few microseconds.
Publishers and subscribers use rclpy's raw (serialized) mode with these functions; the bytes are
identical to what rclpy serializes (tested), so any ROS tool reads them as normal messages.

Layout: 4-byte encapsulation header (CDR little endian), then fields with natural alignment
counted from the end of the header; strings are a uint32 length (including the NUL) then bytes;
sequences a uint32 count then the elements.
"""
from __future__ import annotations

import math
import struct

import numpy as np

from swarm_ros.control.contract import BEACON_SIZE
from swarm_ros.core.frames import body_to_world

HEADER = b"\x00\x01\x00\x00"
_COV_ZERO = bytes(36 * 8)
# RadioBeacon after its sender: sent_at, position (3), velocity (3), radius; int32 group; payload count
_BEACON = struct.Struct("<8diI")


def _string(text: str, offset: int) -> tuple[bytes, int]:
    """Aligned CDR string starting at `offset` (after the header); returns bytes and new offset."""
    pad = (-offset) % 4
    raw = text.encode() + b"\x00"
    out = b"\x00" * pad + struct.pack("<I", len(raw)) + raw
    return out, offset + len(out)


def _check(data: bytes, body: int) -> None:
    """Plain little-endian CDR of at least `body` bytes, or ValueError (never struct.error)."""
    if data[:2] != HEADER[:2]:
        raise ValueError(f"not little-endian CDR (encapsulation {bytes(data[:2]).hex()})")
    if len(data) < 4 + body:
        raise ValueError(f"truncated message ({len(data)} bytes)")


def _read_string(data: bytes, offset: int) -> tuple[str, int]:
    offset += (-offset) % 4
    _check(data, offset + 4)
    (n,) = struct.unpack_from("<I", data, 4 + offset)
    start = 4 + offset + 4
    _check(data, offset + 4 + n)
    return data[start:start + n - 1].decode(), offset + 4 + n


def header_stamp(data: bytes) -> int:
    """header.stamp in ns of any serialized message that starts with a std_msgs/Header."""
    _check(data, 8)
    sec, nsec = struct.unpack_from("<iI", data, 4)
    return sec * 1_000_000_000 + nsec


def _stamped_head(stamp_ns: int, frame: str) -> tuple[bytes, int]:
    head = struct.pack("<iI", stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)
    s, off = _string(frame, 8)
    return head + s, off


def encode_odometry(stamp_ns: int, frame: str, child: str, p, v, q=(0.0, 0.0, 0.0, 1.0),
                    w=(0.0, 0.0, 0.0), radio: int = 0) -> bytes:
    """q: orientation quaternion (x, y, z, w); w: angular velocity (identity and zero where the
    physics has no attitude, as the point-mass model). `radio`: the radio messages the simulator
    sent the drone for this tick, in the twist covariance's last element (RADIO_SLOT), so that a
    lockstep drone knows what to wait for (DDS does not order messages across topics)."""
    head, off = _stamped_head(stamp_ns, frame)
    child_bytes, off = _string(child, off)
    pad = (-off) % 8
    body = struct.pack("<7d", p[0], p[1], p[2], q[0], q[1], q[2], q[3]) + _COV_ZERO + \
        struct.pack("<6d", v[0], v[1], v[2], w[0], w[1], w[2]) + _COV_ZERO[:-8] + struct.pack("<d", radio)
    return HEADER + head + child_bytes + b"\x00" * pad + body


def decode_odometry(data: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """(stamp in ns, position (3,), linear velocity (3,)) from serialized nav_msgs/Odometry."""
    off = _odometry_body(data)
    pose = struct.unpack_from("<3d", data, 4 + off)
    twist = struct.unpack_from("<3d", data, 4 + off + (7 + 36) * 8)
    return header_stamp(data), np.array(pose), np.array(twist)


def odometry_radio(data: bytes) -> int:
    """The radio messages a lockstep simulator sent with this odometry's tick (0 from any other source)."""
    off = _odometry_body(data) + (7 + 36 + 6 + 36) * 8
    _check(data, off)
    (count,) = struct.unpack_from("<d", data, 4 + off - 8)
    return int(count) if 0 <= count < 1e6 else 0


def _odometry_body(data: bytes) -> int:
    """Offset (after the header) of an Odometry's pose, past header and child_frame_id."""
    _check(data, 16)
    _, off = _read_string(data, 8)
    _, off = _read_string(data, off)
    off += (-off) % 8
    _check(data, off + (7 + 36 + 6) * 8)
    return off


def twist_to_world(data: bytes) -> bytes:
    """Serialized nav_msgs/Odometry with its twist (linear and angular) turned from body axes
    into world axes by the message's own orientation; every other byte unchanged."""
    off = _odometry_body(data)
    q = struct.unpack_from("<4d", data, 4 + off + 3 * 8)
    if not 0.5 < float(np.linalg.norm(q)) < 2.0:       # NaN too
        raise ValueError(f"orientation {list(q)} is not a rotation quaternion")
    at = 4 + off + (7 + 36) * 8
    twist = np.array(struct.unpack_from("<6d", data, at)).reshape(2, 3)
    out = bytearray(data)
    struct.pack_into("<6d", out, at, *body_to_world(q, twist).ravel())
    return bytes(out)


def encode_twist_stamped(stamp_ns: int, frame: str, v) -> bytes:
    head, off = _stamped_head(stamp_ns, frame)
    pad = (-off) % 8
    return HEADER + head + b"\x00" * pad + struct.pack("<6d", v[0], v[1], v[2], 0.0, 0.0, 0.0)


def decode_twist_stamped(data: bytes) -> tuple[int, np.ndarray]:
    """(stamp in ns, linear velocity (3,)) from serialized geometry_msgs/TwistStamped."""
    _check(data, 12)
    _, off = _read_string(data, 8)
    off += (-off) % 8
    _check(data, off + 6 * 8)
    return header_stamp(data), np.array(struct.unpack_from("<3d", data, 4 + off))


def _beacon(sender: str, sent_at: float, beacon, offset: int) -> tuple[bytes, int]:
    """One RadioBeacon's fields starting at `offset` (after the header); returns bytes and new offset."""
    b = np.asarray(beacon, float)
    if b.ndim != 1 or len(b) < BEACON_SIZE:
        raise ValueError(f"a beacon has at least {BEACON_SIZE} numbers, got {b.size}")
    name, off = _string(sender, offset)
    pad = (-off) % 8
    payload = b[BEACON_SIZE:].astype("<f8")
    out = name + b"\x00" * pad + _BEACON.pack(float(sent_at), *b[:7].tolist(), int(b[7]), len(payload)) + \
        payload.tobytes()
    return out, off + pad + _BEACON.size + 8 * len(payload)


def _read_beacon(data: bytes, off: int) -> tuple[str, float, tuple, int]:
    """One beacon at byte `off` of a message (counted from its start, header included): sender,
    sent_at, its numbers as a tuple of floats (no array: a drone process reads 4,000 beacons per
    beacon tick at 100 drones) and the offset after it. struct.error or UnicodeDecodeError where
    the bytes are cut short or garbled; the callers turn them into one ValueError."""
    off += (4 - off) % 4                      # CDR aligns from the end of the 4-byte header
    (n,) = struct.unpack_from("<I", data, off)
    if off + 4 + n > len(data):
        raise struct.error
    sender = data[off + 4:off + 3 + n].decode()
    off += 4 + n
    off += (4 - off) % 8
    fields = _BEACON.unpack_from(data, off)
    off += _BEACON.size
    k = fields[9]
    numbers = fields[1:9] + (struct.unpack_from(f"<{k}d", data, off) if k else ())
    return sender, fields[0], numbers, off + 8 * k


def _finite(sender: str, sent_at: float, numbers: tuple) -> None:
    if not math.isfinite(sent_at) or not all(map(math.isfinite, numbers)):
        raise ValueError(f"beacon from {sender!r} holds non-finite numbers")


def encode_beacon(sender: str, sent_at: float, beacon) -> bytes:
    """A beacon array (control/contract.py layout) as a serialized RadioBeacon."""
    return HEADER + _beacon(sender, sent_at, beacon, 0)[0]


def decode_beacon(data: bytes) -> tuple[str, float, np.ndarray]:
    """(sender, sent_at in mission s, beacon array) of a serialized RadioBeacon; malformed or
    non-finite ones raise ValueError."""
    _check(data, 4)
    try:
        sender, sent_at, numbers, _ = _read_beacon(data, 4)
    except struct.error:
        raise ValueError(f"truncated beacon ({len(data)} bytes)") from None
    except UnicodeDecodeError:
        raise ValueError("the sender name is not UTF-8") from None
    _finite(sender, sent_at, numbers)
    return sender, sent_at, np.array(numbers)


def encode_radio_packets(senders, stamps, beacons, cache: dict | None = None, keys=None) -> bytes:
    """The beacons one drone receives in one tick as a serialized RadioPackets.

    A broadcast reaches many receivers: with a `cache` (a dict kept for one batch of
    deliveries) and `keys` (one hashable per beacon naming its broadcast), each beacon is
    packed once per alignment instead of once per receiver. Its bytes depend on its offset
    only through the padding, that is on the offset modulo 8.
    """
    parts, off = [struct.pack("<I", len(senders))], 4
    for i, (name, stamp, beacon) in enumerate(zip(senders, stamps, beacons)):
        if cache is None:
            part, off = _beacon(name, stamp, beacon, off)
        else:
            key = (keys[i], off % 8)
            if key not in cache:
                part, end = _beacon(name, stamp, beacon, off)
                cache[key] = (part, end - off)
            part, size = cache[key]
            off += size
        parts.append(part)
    return HEADER + b"".join(parts)


def decode_radio_packets(data: bytes) -> list[tuple[str, float, np.ndarray]]:
    """[(sender, sent_at, beacon)] of a serialized RadioPackets; malformed ones raise ValueError."""
    return [(sender, sent_at, np.array(numbers)) for sender, sent_at, numbers in decode_radio_numbers(data)]


def decode_radio_numbers(data: bytes) -> list[tuple[str, float, tuple]]:
    """decode_radio_packets with each beacon's numbers as a tuple of floats (what a drone
    process hands to its neighbour memory, without an array per beacon)."""
    _check(data, 4)
    (count,) = struct.unpack_from("<I", data, 4)
    if count > len(data):
        raise ValueError(f"{count} beacons in a {len(data)}-byte message")
    out, off = [], 8
    try:
        for _ in range(count):
            sender, sent_at, numbers, off = _read_beacon(data, off)
            out.append((sender, sent_at, numbers))
    except struct.error:
        raise ValueError(f"truncated radio message ({len(data)} bytes)") from None
    except UnicodeDecodeError:
        raise ValueError("a sender name is not UTF-8") from None
    for beacon in out:
        _finite(*beacon)
    return out


def command_or_none(data: bytes, logger):
    """(stamp, velocity) of a raw TwistStamped command, or None after a throttled warning."""
    try:
        return decode_twist_stamped(data)
    except ValueError as err:
        logger.warning(f"dropped an undecodable command: {err}", throttle_duration_sec=5.0)
        return None
