"""The direct CDR codec produces and reads exactly what rclpy serializes."""
import struct

import numpy as np
import pytest
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from rclpy.serialization import deserialize_message, serialize_message

from swarm_ros.control.contract import BEACON_SIZE, make_beacon
from swarm_ros.nodes import cdr


@pytest.mark.parametrize("frame,child", [("world", "cf1/base_link"), ("w", "x"), ("world", "abcd"), ("", "")])
def test_odometry_round_trips_through_rclpy(frame, child):
    rng = np.random.default_rng(len(frame) + len(child))
    for _ in range(5):
        p, v = rng.normal(size=3), rng.normal(size=3)
        ns = int(rng.integers(0, 10**12))
        msg = deserialize_message(cdr.encode_odometry(ns, frame, child, p, v), Odometry)
        assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == divmod(ns, 10**9)
        assert (msg.header.frame_id, msg.child_frame_id) == (frame, child)
        pos, lin = msg.pose.pose.position, msg.twist.twist.linear
        assert [pos.x, pos.y, pos.z] == p.tolist() and [lin.x, lin.y, lin.z] == v.tolist()
        assert msg.pose.pose.orientation.w == 1.0 and not msg.pose.covariance.any()
        stamp, p2, v2 = cdr.decode_odometry(serialize_message(msg))
        assert stamp == ns and p2.tolist() == p.tolist() and v2.tolist() == v.tolist()


def test_odometry_carries_attitude_and_body_rates():
    q, w = np.array([0.1, -0.2, 0.3, 0.9273618495495703]), np.array([0.5, -0.25, 2.0])
    msg = deserialize_message(cdr.encode_odometry(7, "world", "x1/base_link", [1, 2, 3], [4, 5, 6], q, w), Odometry)
    o, ang = msg.pose.pose.orientation, msg.twist.twist.angular
    assert [o.x, o.y, o.z, o.w] == q.tolist() and [ang.x, ang.y, ang.z] == w.tolist()
    assert cdr.decode_odometry(serialize_message(msg))[1].tolist() == [1, 2, 3]


@pytest.mark.parametrize("child", ["cf1/base_link", "x", "abcd"])
def test_lockstep_odometry_says_how_many_radio_messages_its_tick_brings(child):
    """The count rides in the twist covariance's last element; zero (any other odometry) means none."""
    data = cdr.encode_odometry(9, "world", child, [1, 2, 3], [4, 5, 6], radio=2)
    msg = deserialize_message(data, Odometry)
    assert msg.twist.covariance[35] == 2.0 and not msg.twist.covariance[:35].any() and not msg.pose.covariance.any()
    assert cdr.odometry_radio(data) == 2 and cdr.decode_odometry(data)[1].tolist() == [1, 2, 3]
    assert cdr.odometry_radio(serialize_message(Odometry())) == 0
    assert cdr.odometry_radio(cdr.encode_odometry(9, "world", child, [1, 2, 3], [4, 5, 6])) == 0
    with pytest.raises(ValueError):
        cdr.odometry_radio(data[:-4])


@pytest.mark.parametrize("frame", ["world", "ab", "abc", ""])
def test_twist_stamped_round_trips_through_rclpy(frame):
    v = np.array([0.25, -1.5, 3.0])
    msg = deserialize_message(cdr.encode_twist_stamped(1_234_567_890_123, frame, v), TwistStamped)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (1234, 567_890_123, frame)
    assert [msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z] == v.tolist()
    stamp, v2 = cdr.decode_twist_stamped(serialize_message(msg))
    assert stamp == 1_234_567_890_123 and v2.tolist() == v.tolist()


def test_malformed_bytes_raise_value_error_not_struct_error():
    good = cdr.encode_odometry(5, "world", "cf1/base_link", [1, 2, 3], [4, 5, 6])
    big_endian = b"\x00\x00" + good[2:]
    huge_string = good[:12] + b"\xff\xff\xff\x7f" + good[16:]      # frame_id length overruns
    for bad in (good[:40], big_endian, b"", huge_string):
        with pytest.raises(ValueError):
            cdr.decode_odometry(bad)
    with pytest.raises(ValueError):
        cdr.decode_twist_stamped(cdr.encode_twist_stamped(5, "world", [1, 2, 3])[:30])


def _typed_packets(senders, stamps, beacons):
    """The same delivery built as rclpy message objects, field by field (the reference)."""
    from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets
    out = RadioPackets()
    for name, stamp, b in zip(senders, stamps, beacons):
        m = RadioBeacon(sender=name, sent_at=stamp, radius=b[6], group=int(b[7]), payload=list(b[BEACON_SIZE:]))
        (m.position.x, m.position.y, m.position.z), (m.velocity.x, m.velocity.y, m.velocity.z) = b[0:3], b[3:6]
        out.beacons.append(m)
    return out


@pytest.mark.parametrize("count", [0, 1, 3])
def test_radio_bytes_are_what_rclpy_serializes_and_carry_beacons_exactly(count):
    from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets
    beacons = [make_beacon([1.5, -2.0, 0.25], [0.1, 0.2, -0.3], 0.05, 2),
               make_beacon([0, 0, 1], [0, 0, 0], 0.2, 0, [7.5, -1e-9]), make_beacon([3, 3, 3], [1, 1, 1], 0.1, 1)]
    senders, stamps = ["a", "cf10", "xyz"][:count], [1.0, 1.02, 3.5][:count]
    typed = _typed_packets(senders, stamps, beacons)
    data = cdr.encode_radio_packets(senders, stamps, beacons[:count])
    assert deserialize_message(data, RadioPackets) == typed        # rclpy reads our bytes as the message
    got = cdr.decode_radio_packets(serialize_message(typed))       # and we read rclpy's
    assert [(s, t) for s, t, _ in got] == list(zip(senders, stamps))
    assert all(np.array_equal(b, g) for b, (_, _, g) in zip(beacons, got))   # the same numbers, bit for bit
    for name, stamp, b in zip(senders, stamps, beacons):
        one = cdr.encode_beacon(name, stamp, b)
        assert deserialize_message(one, RadioBeacon) == _typed_packets([name], [stamp], [b]).beacons[0]
        assert cdr.decode_beacon(one)[:2] == (name, stamp) and np.array_equal(cdr.decode_beacon(one)[2], b)


def test_short_truncated_or_non_finite_radio_messages_are_refused():
    ok = make_beacon([0, 0, 1], [0, 0, 0], 0.2, 0, [7.5])
    with pytest.raises(ValueError):
        cdr.encode_beacon("a", 1.0, np.arange(3.0))                        # shorter than a beacon
    bad = [cdr.encode_radio_packets(["a"], [float("inf")], [ok]),             # non-finite stamp
           cdr.encode_radio_packets(["a"], [1.0], [np.r_[ok, np.nan]]),       # non-finite payload
           cdr.encode_radio_packets(["a", "b"], [1.0, 1.0], [ok, ok])[:-5],   # truncated
           b"\x00\x01\x00\x00" + struct.pack("<I", 10**6)]                   # claims a million beacons
    for data in bad:
        with pytest.raises(ValueError):
            cdr.decode_radio_packets(data)
    with pytest.raises(ValueError):
        cdr.decode_beacon(cdr.encode_beacon("a", 1.0, ok)[:40])


def test_radio_packets_packed_from_a_shared_cache_are_the_same_bytes():
    """The simulator packs a beacon once for all its receivers: the bytes must not change."""
    rng = np.random.default_rng(3)
    beacons = [np.r_[rng.normal(size=7), 1.0, rng.normal(size=k % 3)] for k in range(6)]
    names = [f"cf{k}" * (k + 1) for k in range(6)]        # names of different lengths shift alignments
    cache: dict = {}
    for subset in ([0, 1, 2, 3, 4, 5], [5, 3, 1], [2], [1, 2, 4, 5]):
        args = ([names[i] for i in subset], [0.5 * i for i in subset], [beacons[i] for i in subset])
        assert cdr.encode_radio_packets(*args, cache, [i for i in subset]) == cdr.encode_radio_packets(*args)
