"""When the recorder closes its bag after the summary: not while commands the simulator stepped on
are still missing from it (they were sent, so they are on their way), nor after waiting for
commands a late or lost drone never sent.

The recorder is the real node with its real bag writer; the test hands it serialized messages
through its own callbacks, so what arrives and when is the test's choice, not DDS's."""
from __future__ import annotations

import signal
import time

import pytest
from scenarios import write_scaled_mission

from swarm_ros import topics

TICKS = 20


@pytest.fixture
def recorder(ros_domain, monkeypatch, tmp_path):
    from swarm_ros.mission import load_mission
    from swarm_ros.nodes.recorder import RecorderNode
    from swarm_ros.nodes.runtime import Process
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    mission = load_mission(write_scaled_mission(tmp_path / "mission", 2, duration=4.0))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Process(["recorder"]) as proc:
            rec = RecorderNode(proc.node("recorder"), mission, proc, str(tmp_path / "bag"), ["odom", "cmd"])
            try:
                yield rec, mission.fleet.names
            finally:
                rec.close()
                for node in rec.readers:
                    node.destroy_node()
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)


def _callbacks(rec) -> dict:
    return {sub.topic_name: sub.callback for sub in rec.subs}


def _odometry(tick: int) -> bytes:
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    msg = Odometry()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(tick * 20_000_000, 1_000_000_000)
    return serialize_message(msg)


def _command() -> bytes:
    from geometry_msgs.msg import TwistStamped
    from rclpy.serialization import serialize_message
    return serialize_message(TwistStamped())


def _summary(names, late: dict) -> bytes:
    from rclpy.serialization import serialize_message
    from swarm_ros.nodes.reports import summary_message
    drones = [{"name": n, "late_ticks": late.get(n, 0)} for n in names]
    return serialize_message(summary_message({"mission": "m", "ticks": TICKS, "drones": drones}))


def _fly(rec, names, commands: dict, late: dict) -> None:
    """Every tick's odometry of every drone, `commands[name]` commands each, then the summary."""
    on = _callbacks(rec)
    for tick in range(TICKS):
        for name in names:
            on[topics.of(name, topics.ODOM)](_odometry(tick))
    for name in names:
        for _ in range(commands[name]):
            on[topics.of(name, topics.CMD)](_command())
    on[topics.SUMMARY](_summary(names, late))


def _quiet_for(rec, seconds: float) -> bool:
    """Whether the recorder closes once nothing has arrived for `seconds`."""
    rec.last_message = time.monotonic() - seconds
    rec._close_when_quiet()
    return rec.writer is None


def test_the_bag_stays_open_for_commands_the_simulator_stepped_on(recorder):
    from swarm_ros.nodes.recorder import CLOSE_QUIET, MISSING_QUIET
    rec, (a, b) = recorder
    _fly(rec, (a, b), commands={a: TICKS - 4, b: TICKS}, late={})
    assert rec.lost() == {}                              # every odometry tick is there
    assert rec.cmds_in_flight() == {a: 3}                # the last tick's command may never come
    assert not _quiet_for(rec, 2 * CLOSE_QUIET)
    for _ in range(3):                                   # resent after the writer's heartbeat
        _callbacks(rec)[topics.of(a, topics.CMD)](_command())
    rec._flush()
    assert rec.cmds_in_flight() == {}
    assert _quiet_for(rec, 2 * CLOSE_QUIET) and MISSING_QUIET > 2 * CLOSE_QUIET


def test_commands_a_late_drone_never_sent_are_not_waited_for(recorder):
    from swarm_ros.nodes.recorder import CLOSE_QUIET
    rec, (a, b) = recorder
    _fly(rec, (a, b), commands={a: TICKS - 6, b: TICKS - 1}, late={a: 5})
    assert rec.cmds_in_flight() == {}
    assert _quiet_for(rec, 2 * CLOSE_QUIET)


def test_missing_commands_delay_the_close_only_so_long(recorder):
    from swarm_ros.nodes.recorder import MISSING_QUIET
    rec, (a, b) = recorder
    _fly(rec, (a, b), commands={a: 2, b: TICKS}, late={})
    assert not _quiet_for(rec, MISSING_QUIET - 1)
    assert _quiet_for(rec, MISSING_QUIET + 0.1)          # gone for good: the bag closes without them
