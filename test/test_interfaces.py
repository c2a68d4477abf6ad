"""The typed messages (swarm_ros_interfaces): what tools outside the project see of them.

`ros2 topic echo` (the real ros2cli) shows a beacon's named fields; a bag recorded with them
carries their definitions, so the independent mcap reader decodes it without our package; the
dicts the rest of the code works with survive the trip through the messages; the package's build
is idempotent.
"""
from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from swarm_ros import bagtypes, topics
from swarm_ros.control.contract import make_beacon
from swarm_ros.nodes import cdr, reports
from swarm_ros.control.plugin import MissionService
from swarm_ros.nodes.runtime import qos
from swarm_ros.nodes.service_link import NUMBERS, link_of

ROS2 = Path(sys.executable).with_name("ros2")


def test_every_message_file_is_registered_for_bags():
    names = {f.stem for f in (REPO / "swarm_ros_interfaces" / "msg").glob("*.msg")}
    registered = {t.split("/")[-1] for t in bagtypes.definitions() if t.startswith("swarm_ros_interfaces/")}
    assert names == registered and {"RadioBeacon", "RadioPackets", "SwarmStatus", "SwarmSummary", "UpdateStatus",
                                    "UpdateOffer", "CaoReport", "CaoFeedback", "PlanRequest"} <= names
    typed = {t for t in topics.TYPES.values() if t.startswith("swarm_ros_interfaces/")}
    assert typed and typed <= set(bagtypes.typestore().types)


def test_figure_dicts_survive_the_typed_messages():
    status = {"t": 1.5, "duration": 20.0, "phase": "task", "collisions": 1, "geofence_violations": 0,
              "min_separation": math.inf, "rtf": 3.25, "late_ticks": 2, "mode": "lockstep"}
    assert reports.status_dict(reports.status_message(status)) == status
    summary = {"mission": "rings", "sim_time": 20.0, "ticks": 1000, "collisions": 0, "geofence_violations": 0,
               "min_separation": 0.75, "radio": {"sent": 10, "delivered": 7}, "mode": "lockstep",
               "drones": [{"name": "cf1", "type": "cf", "role": "inner", "distance": 12.5, "min_separation": 0.75,
                           "collisions": 0, "geofence_violations": 0, "landed": True, "late_ticks": 0}]}
    msg = reports.summary_message(summary)
    assert reports.summary_dict(msg) == summary
    assert msg.mission == "rings" and msg.ticks == 1000 and msg.drones[0].distance == 12.5 and msg.drones[0].landed
    update = {"drone": "cf1", "state": "receiving", "version": "1.0", "hash": "ab" * 8, "classes": 3,
              "time": 1.7e9, "patch": "cd" * 8, "progress": 0.0, "fallback": {"from": "a", "to": "b", "reason": "bad"}}
    assert reports.update_status_dict(reports.update_status_message(update)) == update
    assert reports.update_status_message({"drone": "x2", "state": "failed"}).classes == -1   # "not reported"
    offer = {"state": "serving", "patch": "ab" * 8, "version": "2", "target": "type == 'cf'", "bytes": 4096,
             "push": "ef" * 8}
    assert reports.update_offer_dict(reports.update_offer_message(offer)) == offer
    refused = {"state": "refused", "reason": "bad signature", "push": "01" * 8}
    assert reports.update_offer_dict(reports.update_offer_message(refused)) == refused


def test_build_interfaces_is_a_no_op_when_up_to_date():
    venv = Path(sys.prefix)
    if not list(venv.glob(".swarm_ros_interfaces-*")):
        pytest.skip("swarm_ros_interfaces was not installed by scripts/build-interfaces in this environment")
    runs = [subprocess.run([str(REPO / "scripts" / "build-interfaces"), str(venv)], capture_output=True, text=True,
                           timeout=600) for _ in range(2)]        # the first brings it up to date if the sources changed
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    assert "building" not in runs[1].stderr and list(venv.glob(".swarm_ros_interfaces-*"))


needs_ros2_cli = pytest.mark.skipif(importlib.util.find_spec("ros2topic") is None or not ROS2.exists(),
                                    reason="the ros2 CLI is not installed (pip install --no-index --find-links "
                                           "../shared/ros2-tooling/wheels ros-ros2topic)")


def echo_once(ros_context, ros_env, tmp_path, topic: str, msg_type, msg) -> list[str]:
    """The stripped lines `ros2 topic echo --once` (the real ros2cli) prints for `msg` (a message or
    its CDR bytes) published on `topic`."""
    node, _executor = ros_context
    pub = node.create_publisher(msg_type, topic, qos(topic))
    env = dict(ros_env, ROS_HOME=str(tmp_path / "ros_home"), TMPDIR=str(tmp_path))
    # the type given, so that echo need not discover the publisher before it starts
    echo = subprocess.Popen([str(ROS2), "topic", "echo", "--once", topic, topics.TYPES[topics.kind(topic)]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while echo.poll() is None and time.monotonic() < deadline:
            pub.publish(msg)
            time.sleep(0.1)
        out = echo.communicate(timeout=10)[0]
    finally:
        if echo.poll() is None:
            echo.kill()
            echo.wait()
        subprocess.run([str(ROS2), "daemon", "stop"], env=env, capture_output=True, timeout=30)
    assert echo.returncode == 0, out
    return [line.strip() for line in out.splitlines()]


@needs_ros2_cli
def test_ros2_topic_echo_shows_a_beacons_named_fields(ros_context, ros_env, tmp_path):
    beacon = cdr.encode_beacon("cf1", 2.5, make_beacon([1.5, -2.0, 0.75], [0.25, 0.0, -0.5], 0.05, 2, [9.0]))
    from swarm_ros_interfaces.msg import RadioBeacon
    lines = echo_once(ros_context, ros_env, tmp_path, topics.of("cf1", topics.RADIO_TX), RadioBeacon, beacon)
    for expected in ("sender: cf1", "sent_at: 2.5", "position:", "x: 1.5", "y: -2.0", "z: 0.75", "velocity:",
                     "radius: 0.05", "group: 2", "- 9.0"):
        assert expected in lines, f"{expected!r} not in:\n" + "\n".join(lines)


@needs_ros2_cli
def test_ros2_topic_echo_shows_a_cao_reports_named_fields(ros_context, ros_env, tmp_path):
    from swarm_ros.control.cao_service import ObjectiveService
    link = link_of(ObjectiveService)
    report = link.encode_request(np.array([7, 11.5, 3.25, -4.0, 1.5]))     # what a CAO drone's node sends
    lines = echo_once(ros_context, ros_env, tmp_path, topics.of("cf1", ObjectiveService.request_topic),
                      link.request_type, report)
    for expected in ("iteration: 7", "mission_time: 11.5", "decision:", "- 3.25", "- -4.0", "- 1.5"):
        assert expected in lines, f"{expected!r} not in:\n" + "\n".join(lines)


def test_service_links_carry_the_same_numbers_in_named_fields():
    """What the drones and the services exchange survives their typed messages bit for bit."""
    from swarm_ros.control.cao_service import ObjectiveService
    from swarm_ros.control.planned_service import PlannerService
    from swarm_ros.planning.service import encode_request
    from sim.world import Box, Cylinder
    cao, plan = link_of(ObjectiveService), link_of(PlannerService)
    report = np.array([3, 4.000000001, 1.1, -2.2, 12.3])
    msg = cao.encode_request(report)
    assert (msg.iteration, msg.mission_time, list(msg.decision)) == (3, 4.000000001, [1.1, -2.2, 12.3])
    assert cao.decode_request(msg).tolist() == report.tolist()
    feedback = np.array([3, -0.125, 0.9876543210123])
    msg = cao.encode_answer(feedback)
    assert (msg.iteration, msg.delta, msg.cost) == (3, -0.125, 0.9876543210123)
    assert cao.decode_answer(msg).tolist() == feedback.tolist()
    with pytest.raises(ValueError, match="non-finite"):
        cao.decode_answer(cao.encode_answer([4, math.nan, 1.0]))
    iteration = {"k": 4, "t": 8.0, "cost": 0.4321, "members": ["cf1", "x2"], "kind": "surveillance"}
    msg = cao.monitor_message(iteration)
    assert type(msg) is cao.monitor_type and (msg.iteration, list(msg.members)) == (4, ["cf1", "x2"])
    assert cao.monitor_dict(msg) == iteration
    from swarm_ros.planning.service import shape_record
    shapes = [shape_record(Box(name="wall", center=(1.0, 2.0, 3.0), size=(0.5, 0.25, 6.0))),
              shape_record(Cylinder(name="mast", center=(-1.5, 2.5), radius=0.3, z_min=0.0, z_max=4.5))]
    request = encode_request(12.34, [0.1, 0.2, 1.0], [5.0, -5.0, 2.0], shapes)
    msg = plan.encode_request(request)
    assert msg.request_id == 12.34 and (msg.goal.x, msg.goal.y, msg.goal.z) == (5.0, -5.0, 2.0)
    box, cylinder = msg.obstacles
    assert (box.shape, box.center.z, box.size.y) == (box.BOX, 3.0, 0.25)
    assert (cylinder.shape, cylinder.center.x, cylinder.size.x, cylinder.size.z) == (cylinder.CYLINDER, -1.5, 0.3, 4.5)
    assert plan.decode_request(msg).tolist() == request.tolist()
    box.shape = 9
    with pytest.raises(ValueError, match="an obstacle of shape 9"):
        plan.decode_request(msg)
    # a plugin service naming no link keeps plain numbers both ways, and JSON figures on its monitor
    assert link_of(MissionService) is NUMBERS and NUMBERS.decode_request(NUMBERS.encode_answer([1, 2.5])).tolist() == [1, 2.5]
    assert NUMBERS.monitor_dict(NUMBERS.monitor_message({"rounds": 3})) == {"rounds": 3}


def test_a_typed_bag_decodes_with_the_mcap_reader_alone(tmp_path):
    """A bag written with our typestore (as the recorder does) carries the definitions: the
    independent mcap + mcap-ros2-support reader decodes it with labelled fields."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer

    rx = cdr.encode_radio_packets(["cf2", "x1"], [1.0, 1.02], [make_beacon([1, 2, 3], [0, 0, 1], 0.05, 0),
                                                               make_beacon([4, 5, 6], [1, 0, 0], 0.3, 1, [0.5])])
    summary = reports.summary_message({"mission": "rings", "ticks": 7, "drones": [{"name": "cf2", "landed": True}]})
    update = reports.update_status_message({"drone": "cf2", "state": "installed", "version": "2.0"})
    store = bagtypes.typestore()
    tx = cdr.encode_beacon("cf2", 1.0, make_beacon([1, 2, 3], [0, 0, 1], 0.05, 0))
    from swarm_ros.control.cao_service import ObjectiveService
    from swarm_ros.control.planned_service import PlannerService
    from swarm_ros.planning.service import encode_request
    cao, plan = link_of(ObjectiveService), link_of(PlannerService)
    report = cao.encode_request([5, 9.5, 1.0, 2.0, 3.5])
    request = plan.encode_request(encode_request(4.25, [0, 0, 1], [3, 4, 1], [[0, 1, 2, 3, 0.5, 0.5, 2]]))
    recorded = [("/cf1/radio/rx", rx), ("/cf2/radio/tx", tx), (topics.SUMMARY, serialize_message(summary)),
                ("/cf2/update/status", serialize_message(update)), ("/cf1/cao/report", serialize_message(report)),
                ("/cf1/cao/feedback", serialize_message(cao.encode_answer([5, -0.5, 0.25]))),
                ("/cf2/plan/request", serialize_message(request)),
                ("/swarm/objective", serialize_message(cao.monitor_message(
                    {"k": 5, "t": 9.5, "cost": 0.25, "members": ["cf1"], "kind": "surveillance"})))]
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        for name in ("cf1", "cf2"):
            conn = writer.add_connection(f"/{name}/odom", topics.TYPES[topics.ODOM], typestore=store)
            writer.write(conn, 1, cdr.encode_odometry(0, "world", f"{name}/base_link", [0, 0, 1], [0, 0, 0]))
        for k, (topic, msg) in enumerate(recorded):
            conn = writer.add_connection(topic, topics.TYPES[topics.kind(topic)], typestore=store)
            writer.write(conn, k + 2, msg)
    (mcap_file,) = (tmp_path / "bag").glob("*.mcap")
    with open(mcap_file, "rb") as f:
        decoded = {ch.topic: (schema.name, m) for schema, ch, _msg, m in
                   make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages()}
    name, got = decoded["/cf1/radio/rx"]
    assert name == "swarm_ros_interfaces/msg/RadioPackets"
    assert [b.sender for b in got.beacons] == ["cf2", "x1"] and got.beacons[1].position.z == 6.0
    assert list(got.beacons[1].payload) == [0.5] and got.beacons[1].group == 1
    assert decoded["/cf2/radio/tx"][1].velocity.z == 1.0
    assert decoded[topics.SUMMARY][1].mission == "rings" and decoded[topics.SUMMARY][1].drones[0].landed
    assert reports.update_status_dict(decoded["/cf2/update/status"][1]) == {"drone": "cf2", "state": "installed",
                                                                             "version": "2.0"}
    name, got = decoded["/cf1/cao/report"]
    assert name == "swarm_ros_interfaces/msg/CaoReport"
    assert (got.iteration, got.mission_time, list(got.decision)) == (5, 9.5, [1.0, 2.0, 3.5])
    name, got = decoded["/cf1/cao/feedback"]
    assert name == "swarm_ros_interfaces/msg/CaoFeedback" and (got.iteration, got.delta, got.cost) == (5, -0.5, 0.25)
    name, got = decoded["/cf2/plan/request"]
    assert name == "swarm_ros_interfaces/msg/PlanRequest" and got.request_id == 4.25 and got.goal.y == 4.0
    assert got.obstacles[0].center.z == 3.0 and got.obstacles[0].size.z == 2.0
    name, got = decoded["/swarm/objective"]
    assert name == "swarm_ros_interfaces/msg/CaoIteration" and list(got.members) == ["cf1"] and got.cost == 0.25
    # `swarm-ros analyze` reads the typed radio, update and summary messages of the same bag
    from swarm_ros.analysis.bag import read_bag
    rec = read_bag(tmp_path / "bag")
    assert rec.radio_recorded and rec.rx_from == {"cf1": {"cf2": 1, "x1": 1}} and len(rec.tx_log["cf2"]) == 1
    assert [v for _, v in rec.updates["cf2"]] == ["2.0"]
    assert rec.summary == reports.summary_dict(summary)
