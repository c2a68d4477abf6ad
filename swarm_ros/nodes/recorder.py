"""Recorder node: writes the mission's topics to a rosbag2 (MCAP or sqlite3) with `rosbags`.

Subscriptions are raw: the serialized CDR bytes DDS delivers are written straight into the
bag, so recording costs no deserialization. Log times are the receive times (wall clock, as
`ros2 bag record` does); header stamps inside the messages are mission time. The bag's
custom metadata names the mission, the fleet, the world and each drone's type and role.
Once subscribed to every recorded topic it says so on /swarm/recorder_ready (the simulator
waits for that), and it closes the bag when the mission summary arrives. When it records
odometry it reports on /swarm/recorder_progress the mission time up to which it has written
every drone's odometry: a lockstep simulator runs only so far ahead of that (back-pressure), as
a lockstep run can outpace the recorder and a reader's history overflows, losing messages.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from std_msgs.msg import Int64, String

from swarm_ros import bagtypes, topics
from swarm_ros.launching import default_run_dir
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import Process, mission_from, qos

READY_TIMEOUT = 30.0   # s: announce readiness anyway (with a warning) after this long
CLOSE_QUIET = 0.5      # s without any message, after the summary, before the bag is closed:
CLOSE_LIMIT = 15.0     # a busy recorder drains its backlog first, but closes after this at most
STORES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
PROGRESS_EVERY = 10    # control ticks of recorded odometry between progress reports


def message_class(type_name: str):
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def bag_metadata(mission) -> dict[str, str]:
    drones = [{"name": d.name, "type": d.type, "platform": d.platform, "role": d.role} for d in mission.fleet.drones]
    return {"mission": mission.name, "mission_file": mission.file, "fleet": mission.fleet.name,
            "world": mission.world.name, "control_rate": repr(mission.control_rate),
            "takeoff_end": repr(mission.phases.takeoff_end), "task_end": repr(mission.phases.task_end),
            "drones": json.dumps(drones, separators=(",", ":"))}


def service_topics(mission) -> list[tuple]:
    """(record kind, drone names, per-drone topics, swarm-wide topics) of each mission service."""
    out = []
    for use in mission.services.values():
        s = use.kind
        if s.record:
            out.append((s.record, [mission.fleet.drones[i].name for i in use.drones],
                        [t for t in (s.request_topic, s.answer_topic) if t], [s.monitor] if s.monitor else []))
    return out


class RecorderNode:
    def __init__(self, node, mission, proc: Process, bag_path: str, kinds: list[str]):
        self.node, self.proc = node, proc
        self.writer = Writer(Path(bag_path), version=9, storage_plugin=STORES[mission.record.storage])
        for key, value in bag_metadata(mission).items():
            self.writer.set_custom_data(f"swarm_ros.{key}", value)
        self.writer.open()
        self.path = bag_path
        store = bagtypes.typestore()     # standard messages and ours, with their definitions
        self.subs, self.count, self.closing = [], 0, None
        self.last_message = self.summary_at = 0.0
        recorded = topics.recorded(kinds, mission.fleet.names, service_topics(mission))
        odom = {topics.of(d, topics.ODOM) for d in mission.fleet.names} & {t for t, _ in recorded}
        self.written = dict.fromkeys(odom, -1)            # odometry topic -> newest stamp written (ns)
        self.reported, self.report_step = -1, int(PROGRESS_EVERY * 1e9 / mission.control_rate)
        for topic, type_name in recorded:
            conn = self.writer.add_connection(topic, type_name, typestore=store)
            cb = self._on_message_for(conn, topic == topics.SUMMARY, topic if topic in odom else None)
            self.subs.append(node.create_subscription(message_class(type_name), topic, cb, qos(topic), raw=True))
        self.ready_pub = node.create_publisher(String, topics.RECORDER_READY, qos(topics.RECORDER_READY))
        self.progress_pub = node.create_publisher(Int64, topics.RECORDER_PROGRESS, qos(topics.RECORDER_PROGRESS))
        self.t0 = time.monotonic()
        self.ready_timer = node.create_timer(0.05, self._check_ready)

    def _on_message_for(self, conn, is_summary: bool, odom_topic: str | None):
        def on_message(data: bytes) -> None:
            if self.writer is None:
                return
            self.writer.write(conn, time.time_ns(), data)
            self.count += 1
            self.last_message = time.monotonic()
            if odom_topic is not None:
                try:
                    self._progress(odom_topic, cdr.header_stamp(data))
                except ValueError:
                    pass                   # written as received; a malformed message just does not count
            if is_summary and self.closing is None:
                # Other topics' messages may still be in flight or queued (no order across
                # topics): close once the stream has gone quiet.
                self.summary_at = self.last_message
                self.closing = self.node.create_timer(0.1, self._close_when_quiet)
        return on_message

    def _progress(self, topic: str, stamp: int) -> None:
        """Report the mission time up to which every drone's odometry is in the bag, every few ticks."""
        self.written[topic] = max(self.written[topic], stamp)
        if stamp - self.reported < self.report_step:
            return
        low = min(self.written.values())
        if low - self.reported >= self.report_step:
            self.reported = low
            self.progress_pub.publish(Int64(data=low))

    def _check_ready(self, *_ignored) -> None:
        waiting = [s.topic_name for s in self.subs if s.get_publisher_count() == 0 and s.topic_name != topics.SUMMARY]
        late = time.monotonic() - self.t0 > READY_TIMEOUT
        if waiting and not late:
            return
        if waiting:
            self.node.get_logger().warning(f"recording without publishers on {', '.join(waiting[:5])}")
        self.ready_timer.cancel()
        if self.written:
            self.progress_pub.publish(Int64(data=-1))     # nothing written yet: the simulator may start
        self.ready_pub.publish(String(data=self.path))

    def _close_when_quiet(self, *_ignored) -> None:
        now = time.monotonic()
        if now - self.last_message < CLOSE_QUIET and now - self.summary_at < CLOSE_LIMIT:
            return
        self.closing.cancel()
        self.close()
        self.proc.finish(0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.node.get_logger().info(f"bag closed: {self.path} ({self.count} messages)")


def main(argv=None) -> int:
    with Process(argv) as proc:
        p = proc.parameters({"mission_file": "", "bag_path": "", "topics": [""]})
        mission = mission_from(p["mission_file"])
        kinds = [k for k in p["topics"] if k] or list(mission.record.topics)
        bag_path = p["bag_path"] or str(default_run_dir(mission) / "bag")
        node = proc.node("recorder")
        try:
            rec = RecorderNode(node, mission, proc, bag_path, kinds)
        except WriterError as err:
            print(f"error: cannot write the bag {bag_path}: {err}", file=sys.stderr)
            return 2
        try:
            return proc.spin([node])
        finally:
            rec.close()


if __name__ == "__main__":
    raise SystemExit(main())
