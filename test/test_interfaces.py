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

import pytest

from conftest import REPO
from swarm_ros import bagtypes, topics
from swarm_ros.control.contract import make_beacon
from swarm_ros.nodes import cdr, reports
from swarm_ros.nodes.runtime import qos

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


@pytest.mark.skipif(importlib.util.find_spec("ros2topic") is None or not ROS2.exists(),
                    reason="the ros2 CLI is not installed (pip install --no-index --find-links "
                           "../shared/ros2-tooling/wheels ros-ros2topic)")
def test_ros2_topic_echo_shows_a_beacons_named_fields(ros_context, ros_env, tmp_path):
    node, _executor = ros_context
    from swarm_ros_interfaces.msg import RadioBeacon
    pub = node.create_publisher(RadioBeacon, topics.of("cf1", topics.RADIO_TX), qos(topics.RADIO_TX))
    beacon = cdr.encode_beacon("cf1", 2.5, make_beacon([1.5, -2.0, 0.75], [0.25, 0.0, -0.5], 0.05, 2, [9.0]))
    env = dict(ros_env, ROS_HOME=str(tmp_path / "ros_home"), TMPDIR=str(tmp_path))
    echo = subprocess.Popen([str(ROS2), "topic", "echo", "--once", topics.of("cf1", topics.RADIO_TX)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while echo.poll() is None and time.monotonic() < deadline:
            pub.publish(beacon)
            time.sleep(0.1)
        out = echo.communicate(timeout=10)[0]
    finally:
        if echo.poll() is None:
            echo.kill()
            echo.wait()
        subprocess.run([str(ROS2), "daemon", "stop"], env=env, capture_output=True, timeout=30)
    assert echo.returncode == 0, out
    lines = [line.strip() for line in out.splitlines()]
    for expected in ("sender: cf1", "sent_at: 2.5", "position:", "x: 1.5", "y: -2.0", "z: 0.75", "velocity:",
                     "radius: 0.05", "group: 2", "- 9.0"):
        assert expected in lines, f"{expected!r} not in:\n{out}"


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
    recorded = [("/cf1/radio/rx", rx), ("/cf2/radio/tx", tx), (topics.SUMMARY, serialize_message(summary)),
                ("/cf2/update/status", serialize_message(update))]
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
    # `swarm-ros analyze` reads the typed radio, update and summary messages of the same bag
    from swarm_ros.analysis.bag import read_bag
    rec = read_bag(tmp_path / "bag")
    assert rec.radio_recorded and rec.rx_from == {"cf1": {"cf2": 1, "x1": 1}} and len(rec.tx_log["cf2"]) == 1
    assert [v for _, v in rec.updates["cf2"]] == ["2.0"]
    assert rec.summary == reports.summary_dict(summary)
