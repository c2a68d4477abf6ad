"""Recorder node: writes the mission's topics to a rosbag2 (MCAP or sqlite3) with `rosbags`.

Subscriptions are raw: the serialized CDR bytes DDS delivers are written straight into the
bag, so recording costs no deserialization. A message's callback only queues it with its receive
time; a timer writes the queue every FLUSH_PERIOD in one batch (swarm_ros/bagbatch.py), which
costs about 3 instead of 9-14 us a message. Its hundreds of subscriptions are spread over
DDS participants of READERS_PER_PARTICIPANT each (runtime.Process.participant): at 100 drones
that took the recorder from about 0.5 to 0.33 CPU core-seconds per simulated second. Log times
are the receive times (wall clock, as `ros2 bag record` does); header stamps inside the
messages are mission time. The bag's custom metadata names the mission, the fleet, the world
and each drone's type and role.
Once subscribed to every recorded topic it says so on /swarm/recorder_ready (the simulator
waits for that), and it closes the bag when the mission summary arrives. When it records
odometry it reports on /swarm/recorder_progress the mission time up to which it has written
every drone's odometry: a lockstep simulator runs only so far ahead of that (back-pressure), as
a lockstep run can outpace the recorder and a reader's history overflows, losing messages.
What it could not take is counted: when it closes the bag it compares the odometry stamps it
wrote with the ticks the summary says were flown, and writes each topic's missing count into
the bag's metadata (`swarm_ros.lost`, JSON). It also writes how many ticks of each odometry topic
it holds (`swarm_ros.odom_written`), from which the runner counts the losses against the ticks of
its own summary: a recorder that never got the summary (cut off from the DDS traffic) cannot
count them itself. Under `ros2 launch` (parameter `judge`) there is no runner: a bag with data
lost makes the recorder exit with code 4 itself, so the launch fails as a failed mission does.
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
from swarm_ros.bagbatch import BatchWriter
from swarm_ros.launching import default_run_dir
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import EXIT_FAILED, READERS_PER_PARTICIPANT, Process, mission_from, qos
from swarm_ros.report import lost_data

READY_TIMEOUT = 30.0   # s: announce readiness anyway (with a warning) after this long
CLOSE_QUIET = 0.5      # s without any message, after the summary, before the bag is closed:
CLOSE_LIMIT = 15.0     # a busy recorder drains its backlog first, but closes after this at most
MISSING_QUIET = 4.0    # s of quiet needed instead while odometry ticks or commands the simulator got
                       # are still missing: a sample lost on a loaded machine is resent after the
                       # writer's next heartbeat (3 s)
STORES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
PROGRESS_EVERY = 10    # control ticks of recorded odometry between progress reports
FLUSH_PERIOD = 0.05    # s between batched writes of the queued messages (and progress reports)


def message_class(type_name: str):
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def bag_metadata(mission) -> dict[str, str]:
    drones = [{"name": d.name, "type": d.type, "platform": d.platform, "role": d.role} for d in mission.fleet.drones]
    return {"mission": mission.name, "mission_file": mission.file, "fleet": mission.fleet.name,
            "world": mission.world.name, "control_rate": repr(mission.control_rate),
            "phases": json.dumps({"takeoff_end": mission.phases.takeoff_end, "task_end": mission.phases.task_end}),
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
    def __init__(self, node, mission, proc: Process, bag_path: str, kinds: list[str], judge: bool = False):
        self.node, self.proc, self.judge = node, proc, judge
        self.writer = Writer(Path(bag_path), version=9, storage_plugin=STORES[mission.record.storage])
        for key, value in bag_metadata(mission).items():
            self.writer.set_custom_data(f"swarm_ros.{key}", value)
        self.writer.open()
        self.path = bag_path
        store = bagtypes.typestore()     # standard messages and ours, with their definitions
        self.subs, self.count, self.closing = [], 0, None
        self.last_message = self.summary_at = 0.0
        recorded = topics.recorded(kinds, mission.fleet.names, service_topics(mission))
        names = {t for t, _ in recorded}
        odom = {topics.of(d, topics.ODOM) for d in mission.fleet.names} & names
        cmd = {topics.of(d, topics.CMD): d for d in mission.fleet.names if topics.of(d, topics.CMD) in names}
        self.written = dict.fromkeys(odom, -1)            # odometry topic -> newest stamp written (ns)
        self.stamps = {t: set() for t in odom}            # odometry topic -> every stamp written
        self.ticks = None                                 # ticks flown, from the summary
        self.cmd_ids: dict[int, str] = {}                 # connection id -> drone, of its command topic
        self.cmds: dict[str, int] = {}                    # drone -> its commands written
        self.cmds_sent: dict[str, int] = {}               # drone -> its commands known sent (summary)
        self.reported, self.report_step = -1, int(PROGRESS_EVERY * 1e9 / mission.control_rate)
        self.odom_ids: dict[int, str] = {}                # connection id -> odometry topic
        self.batch = BatchWriter(self.writer)
        self.readers = [node]                  # the nodes holding the subscriptions, one per participant
        for i, (topic, type_name) in enumerate(recorded):
            conn = self.writer.add_connection(topic, type_name, typestore=store)
            if topic in odom:
                self.odom_ids[conn.id] = topic
            elif topic in cmd:
                self.cmd_ids[conn.id] = cmd[topic]
                self.cmds[cmd[topic]] = 0
            if i and i % READERS_PER_PARTICIPANT == 0:
                self.readers.append(proc.node(f"{node.get_name()}_{len(self.readers)}", light=True,
                                              context=proc.participant()))
            cb = self._on_summary_for(conn.id) if topic == topics.SUMMARY else self._queue_for(conn.id)
            self.subs.append(self.readers[-1].create_subscription(message_class(type_name), topic, cb, qos(topic),
                                                                  raw=True))
        self.ready_pub = node.create_publisher(String, topics.RECORDER_READY, qos(topics.RECORDER_READY))
        self.progress_pub = node.create_publisher(Int64, topics.RECORDER_PROGRESS, qos(topics.RECORDER_PROGRESS))
        self.t0 = time.monotonic()
        self.ready_timer = node.create_timer(0.05, self._check_ready)
        self.flush_timer = node.create_timer(FLUSH_PERIOD, self._flush)

    def _queue_for(self, conn_id: int):
        """The callback of one topic: nothing but queueing, the bulk of a recorder's messages."""
        append, now = self.batch.pending.append, time.time_ns

        def on_message(data: bytes) -> None:
            append((conn_id, now(), data))
        return on_message

    def _on_summary_for(self, conn_id: int):
        def on_summary(data: bytes) -> None:
            if self.writer is None:
                return
            self.batch.add(conn_id, time.time_ns(), data)
            self._flush()
            self.ticks, late = summary_counts(data)
            # a tick stepped with a drone's fresh command: that command was sent (the last may not
            # be recorded: the simulator can end on it), so the bag should come to hold it
            self.cmds_sent = {d: self.ticks - late.get(d, self.ticks) - 1 for d in self.cmds} \
                if self.ticks is not None else {}
            if self.closing is None:
                # Other topics' messages may still be in flight or queued (no order across
                # topics): close once the stream has gone quiet.
                self.summary_at = self.last_message
                self.closing = self.node.create_timer(0.1, self._close_when_quiet)
        return on_summary

    def _flush(self, *_ignored) -> None:
        """Write what was queued; note the odometry stamps it held and report progress."""
        if self.writer is None:
            self.batch.pending.clear()
            return
        odom = []
        for cid, _, data in self.batch.pending:
            if cid in self.odom_ids:
                odom.append((self.odom_ids[cid], data))
            elif cid in self.cmd_ids:
                self.cmds[self.cmd_ids[cid]] += 1
        written = self.batch.flush()
        if not written:
            return
        self.count += written
        self.last_message = time.monotonic()
        for topic, data in odom:
            try:
                stamp = cdr.header_stamp(data)
            except ValueError:
                continue                   # written as received; a malformed message just does not count
            self.stamps[topic].add(stamp)
            if stamp > self.written[topic]:
                self.written[topic] = stamp
        if odom:
            self._progress()

    def _progress(self) -> None:
        """Report the mission time up to which every drone's odometry is in the bag, every few ticks."""
        low = min(self.written.values())
        if low - self.reported >= self.report_step:
            self.reported = low
            self.progress_pub.publish(Int64(data=low))

    def _check_ready(self, *_ignored) -> None:
        # the summary comes at the end, events only when something goes wrong (and never on hardware)
        waiting = [s.topic_name for s in self.subs if s.get_publisher_count() == 0
                   and s.topic_name not in (topics.SUMMARY, topics.EVENTS)]
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
        quiet = MISSING_QUIET if self.lost() or self.cmds_in_flight() else CLOSE_QUIET
        if now - self.last_message < quiet and now - self.summary_at < CLOSE_LIMIT:
            return
        self.closing.cancel()
        self.close()
        said = lost_data({"data_lost": self.lost()})
        if self.judge and said:
            self.node.get_logger().error(f"MISSION FAILED: {said}")
        self.proc.finish(EXIT_FAILED if self.judge and said else 0)

    def lost(self) -> dict[str, int]:
        """Odometry messages of each topic the bag misses: one per tick flown was published."""
        if self.ticks is None:
            return {}
        return {t: self.ticks - len(s) for t, s in sorted(self.stamps.items()) if len(s) < self.ticks}

    def cmds_in_flight(self) -> dict[str, int]:
        """Commands the simulator stepped on that the bag does not hold yet: they were sent, so
        they are on their way (not counted as lost data: a command is not the mission's record)."""
        return {d: n - self.cmds[d] for d, n in self.cmds_sent.items() if self.cmds[d] < n}

    def close(self) -> None:
        if self.writer is not None:
            self._flush()
            lost = self.lost()
            self.writer.set_custom_data("swarm_ros.lost", json.dumps(lost, separators=(",", ":")))
            # what was written, whether or not the summary came: the runner counts from its own ticks
            written = {t: len(stamps) for t, stamps in sorted(self.stamps.items())}
            self.writer.set_custom_data("swarm_ros.odom_written", json.dumps(written, separators=(",", ":")))
            if lost:
                self.node.get_logger().warning(f"the bag misses {sum(lost.values())} odometry messages: {lost}")
            missing = self.cmds_in_flight()
            if missing:
                self.node.get_logger().warning(f"the bag misses commands the simulator got: {missing}")
            self.writer.close()
            self.writer = None
            self.node.get_logger().info(f"bag closed: {self.path} ({self.count} messages)")


def summary_counts(data: bytes) -> tuple[int | None, dict[str, int]]:
    """The ticks flown and each drone's late ticks, from a serialized /swarm/summary
    (None and {} if it cannot be read)."""
    from rclpy.serialization import deserialize_message
    from swarm_ros_interfaces.msg import SwarmSummary
    try:
        summary = deserialize_message(data, SwarmSummary)
        return int(summary.ticks), {d.name: int(d.late_ticks) for d in summary.drones}
    except Exception:          # a malformed summary: no count rather than a dead recorder
        return None, {}


def main(argv=None) -> int:
    with Process(argv) as proc:
        p = proc.parameters({"mission_file": "", "bag_path": "", "topics": [""], "judge": False})
        mission = mission_from(p["mission_file"])
        kinds = [k for k in p["topics"] if k] or list(mission.record.topics)
        bag_path = p["bag_path"] or str(default_run_dir(mission) / "bag")
        node = proc.node("recorder")
        try:
            rec = RecorderNode(node, mission, proc, bag_path, kinds, p["judge"])
        except WriterError as err:
            print(f"error: cannot write the bag {bag_path}: {err}", file=sys.stderr)
            return 2
        try:
            return proc.spin(rec.readers)
        finally:
            rec.close()


if __name__ == "__main__":
    raise SystemExit(main())
