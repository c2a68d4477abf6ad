"""Typed messages (swarm_ros_interfaces) against the untyped ones they replaced, per message.

    python bench/bench_interfaces.py            # about 30 s
    python bench/bench_interfaces.py --quick    # about 10 s

The peer is the previous encoding, rebuilt here as it was: radio beacons as
std_msgs/Float64MultiArray (one layout.dim per packet, label = sender) and status / summary as
JSON in std_msgs/String. The typed radio messages are timed two ways: as rclpy message objects
(serialize_message / deserialize_message) and through the nodes' direct CDR path (nodes/cdr.py,
raw publish and subscribe), which is what the nodes use. For each path, messages per second:

- build + serialize: what the simulator (radio deliveries, status) and drones (beacons) pay;
- deserialize + unpack: what a drone pays for a delivery (status: the runner);
- recorder write: the recorder's fast path (raw CDR bytes from DDS written into an MCAP bag by
  rosbags, no deserialization): the bytes differ, the work per message should not;
- analysis senders: `swarm-ros analyze` reads each radio message's senders straight from CDR.

A delivery holds BEACONS beacons (a drone with that many neighbours in range).
"""
from __future__ import annotations

import argparse
import array
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import calibrate_steps, machine_info, median, ratio, si, table, time_repeats, write_json  # noqa: E402

import numpy as np  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from rosbags.rosbag2 import StoragePlugin, Writer  # noqa: E402
from std_msgs.msg import Float64MultiArray, MultiArrayDimension, String  # noqa: E402
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets, SwarmStatus  # noqa: E402

from swarm_ros import bagtypes  # noqa: E402
from swarm_ros.analysis.cdrfields import multiarray_labels, packets_senders  # noqa: E402
from swarm_ros.control.contract import make_beacon  # noqa: E402
from swarm_ros.nodes import cdr, reports  # noqa: E402

NAME = "bench_interfaces"
BEACONS = 5


# --- the previous encoding (the peer) ------------------------------------------------------------
def old_radio_packets(senders, stamps, beacons) -> Float64MultiArray:
    msg = Float64MultiArray()
    data = array.array("d")
    for name, stamp, beacon in zip(senders, stamps, beacons):
        msg.layout.dim.append(MultiArrayDimension(label=name, size=len(beacon) + 1, stride=len(beacon) + 1))
        data.append(float(stamp))
        data.extend(np.asarray(beacon, float).tolist())
    msg.data = data
    return msg


def old_radio_unpack(msg: Float64MultiArray):
    data = np.asarray(msg.data, float)
    if not np.isfinite(data).all():
        raise ValueError("non-finite")
    out, k = [], 0
    for dim in msg.layout.dim:
        out.append((dim.label, float(data[k]), data[k + 1:k + dim.size]))
        k += dim.size
    return out


def old_json(payload: dict) -> String:
    return String(data=json.dumps(payload, separators=(",", ":")))


# --- the typed messages as rclpy objects (not what the nodes do: see nodes/cdr.py) ----------------
def typed_packets(senders, stamps, beacons) -> RadioPackets:
    out = RadioPackets()
    for name, stamp, b in zip(senders, stamps, beacons):
        m = RadioBeacon(sender=name, sent_at=float(stamp), radius=float(b[6]), group=int(b[7]),
                        payload=array.array("d", b[8:].tolist()))
        m.position.x, m.position.y, m.position.z = b[0:3].tolist()
        m.velocity.x, m.velocity.y, m.velocity.z = b[3:6].tolist()
        out.beacons.append(m)
    return out


def typed_unpack(msg: RadioPackets):
    out = []
    for m in msg.beacons:
        p, v = m.position, m.velocity
        b = np.array([p.x, p.y, p.z, v.x, v.y, v.z, m.radius, m.group, *m.payload], float)
        if not np.isfinite(b).all():
            raise ValueError("non-finite")
        out.append((m.sender, m.sent_at, b))
    return out


# --- cases ---------------------------------------------------------------------------------------
def cases():
    senders = [f"cf{k}" for k in range(BEACONS)]
    stamps = [1.0 + 0.02 * k for k in range(BEACONS)]
    beacons = [make_beacon(np.random.default_rng(k).normal(size=3), [0.1, 0.2, 0.3], 0.05, k % 3)
               for k in range(BEACONS)]
    status = {"t": 12.5, "duration": 40.0, "phase": "task", "collisions": 0, "geofence_violations": 0,
              "min_separation": 0.81, "rtf": 3.2, "late_ticks": 0, "mode": "lockstep"}
    old_raw = serialize_message(old_radio_packets(senders, stamps, beacons))
    new_raw = cdr.encode_radio_packets(senders, stamps, beacons)
    old_status_raw = serialize_message(old_json(status))
    new_status_raw = serialize_message(reports.status_message(status))

    def loop(fn):
        def run(steps):
            for _ in range(steps):
                fn()
        return run

    sizes = (len(old_raw), len(new_raw))
    yield ("radio delivery: build + serialize",
           loop(lambda: serialize_message(old_radio_packets(senders, stamps, beacons))),
           loop(lambda: serialize_message(typed_packets(senders, stamps, beacons))),
           loop(lambda: cdr.encode_radio_packets(senders, stamps, beacons)), sizes)
    yield ("radio delivery: deserialize + unpack",
           loop(lambda: old_radio_unpack(deserialize_message(old_raw, Float64MultiArray))),
           loop(lambda: typed_unpack(deserialize_message(new_raw, RadioPackets))),
           loop(lambda: cdr.decode_radio_packets(new_raw)), sizes)
    yield ("beacon (one drone's tx): build + serialize",
           loop(lambda: serialize_message(old_radio_packets(senders[:1], stamps[:1], beacons[:1]))),
           loop(lambda: serialize_message(typed_packets(senders[:1], stamps[:1], beacons[:1]).beacons[0])),
           loop(lambda: cdr.encode_beacon(senders[0], stamps[0], beacons[0])), None)
    yield ("status: build + serialize", loop(lambda: serialize_message(old_json(status))),
           loop(lambda: serialize_message(reports.status_message(status))), None,
           (len(old_status_raw), len(new_status_raw)))
    yield ("status: deserialize + read", loop(lambda: json.loads(deserialize_message(old_status_raw, String).data)),
           loop(lambda: reports.status_dict(deserialize_message(new_status_raw, SwarmStatus))), None, None)
    yield ("analysis: radio senders from CDR", loop(lambda: multiarray_labels(old_raw)), None,
           loop(lambda: packets_senders(new_raw)), sizes)
    old_write, new_write = recorder_writes(old_raw, new_raw)
    yield ("recorder: write raw radio bytes", old_write, None, new_write, sizes)


def recorder_writes(old_raw: bytes, new_raw: bytes):
    """The recorder's callback (writer.write of the bytes DDS delivered) into an MCAP bag."""
    store = bagtypes.typestore()
    runs = []
    for msgtype, raw in (("std_msgs/msg/Float64MultiArray", old_raw), ("swarm_ros_interfaces/msg/RadioPackets", new_raw)):
        def run(steps, msgtype=msgtype, raw=raw):
            with tempfile.TemporaryDirectory(prefix="bench_interfaces-") as tmp:
                with Writer(Path(tmp) / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
                    conn = writer.add_connection("/cf1/radio/rx", msgtype, typestore=store)
                    for k in range(steps):
                        writer.write(conn, k, raw)
        runs.append(run)
    return runs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing runs")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    target = 0.2 if args.quick else 0.6
    repeats = 3 if args.quick else args.repeats
    rows, results = [], []
    for name, *fns, sizes in cases():
        rates = {}
        for label, fn in zip(("untyped", "typed objects", "typed"), fns):
            if fn is None:
                continue
            steps = calibrate_steps(fn, target)
            times = time_repeats(fn, steps, repeats)
            rates[label] = steps / median(times)
            results.append({"case": name, "encoding": label, "steps": steps, "seconds": times,
                            "messages_per_s": rates[label]})
        typed = rates.get("typed", rates.get("typed objects"))
        rows.append([name, si(rates["untyped"]), si(rates.get("typed objects")), si(rates.get("typed")),
                     ratio(typed, rates["untyped"]), *(sizes or ("-", "-"))])
    print(table(["path", "untyped msg/s", "typed objects msg/s", "typed (nodes) msg/s", "nodes/untyped",
                 "untyped B", "typed B"], rows,
                title=f"typed vs untyped messages ({BEACONS} beacons per radio delivery; medians of {repeats})"))
    write_json(NAME, {"machine": machine_info(), "beacons_per_delivery": BEACONS, "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
