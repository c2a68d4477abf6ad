"""ROS mode: a signed patch pushed during a simulated mission reaches, over the simulator's radio
with 30 % packet loss, exactly the drones it targets (a second patch of the same version is refused
by the server: one patch in flight at a time); they hot-swap to the new model (version 2)
while flying, the others keep version 1, and the bag's update/status shows it. A drone whose
active slot is missing starts on the other one; one with no slot that verifies reports `failed`
and the mission runs on. Each drone keeps
classifying a stand-in camera frame of a new class: after the swap the targeted drones' running
model names it, in the same process (pid) that answered with the old model before."""
from __future__ import annotations

import json
import subprocess
import sys

import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from conftest import REPO
from hwutil import wait_for
from test_fault_runs import says
from firmware_update.patch import Patch
from firmware_update.shapes import NEW_CLASSES
from patch_helpers import keypair, models, signed
from swarm_ros.nodes.reports import update_status_dict


def _mission(tmp, pub) -> str:
    m = yaml.safe_load((REPO / "config" / "missions" / "rings.yaml").read_text())
    m.update(name="rings_update", fleet=str(REPO / "config" / "fleets" / "mixed_lab.yaml"),
             world=str(REPO / "sim" / "worlds" / "pillar_field.yaml"), duration=30,
             radio={"range": 30, "loss": 0.3, "beacon_rate": 10},
             record={"topics": ["updates", "status"]},
             updates={"keys": [str(pub)], "state": str(tmp / "state"), "server": {"position": [0, -7, 1]}})
    m["phases"]["land"] = {"duration": 6, "speed": 1.0}     # every drone down: the run exits 0
    path = tmp / "rings_update.yaml"
    path.write_text(yaml.safe_dump(m))
    return str(path)


def _cli(args, env, timeout):
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_push_installs_on_targeted_drones_only_during_a_mission(tmp_path, ros_env):
    key, _ = keypair(tmp_path, "ops")
    base, tuned = models()
    patch_file = tmp_path / "p.patch"
    patch_file.write_bytes(signed(base, tuned, key, target="type=cf,role=inner_ring"))
    mission = _mission(tmp_path, tmp_path / "ops.pub")
    for name, active, slot_a in (("x2", b"B", base.to_bytes()), ("x1", b"A", b"not a model")):
        (tmp_path / "state" / name / "slots").mkdir(parents=True)   # x2: `active` names a missing slot
        (tmp_path / "state" / name / "slots" / "A.safetensors").write_bytes(slot_a)   # x1: no slot verifies
        (tmp_path / "state" / name / "active").write_bytes(active)
    launch = subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", "launch", mission, "--run-dir",
                               str(tmp_path / "run"), "--json", str(tmp_path / "summary.json")],
                              env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # push once the mission flies (the simulator starts after the recorder is ready), so the
        # bag holds each drone's version before the patch too
        assert wait_for(lambda: says(tmp_path / "run", "simulator", " starts at x"), 120.0, step=0.2), \
            "the mission never started"
        push = _cli(["patch", "push", str(patch_file), "--target", "role=inner_ring,type=cf", "--timeout", "30"],
                    ros_env, 60)
        assert push.returncode == 0, push.stdout + push.stderr
        second = tmp_path / "x500.patch"                # same version, other type: one patch in flight
        second.write_bytes(signed(base, tuned, key, target="type=x500"))
        again = _cli(["patch", "push", str(second), "--timeout", "30"], ros_env, 60)
        assert again.returncode == 1 and again.stderr.startswith("refused: version 2 is not newer than the patch")
        assert len(again.stderr.strip().splitlines()) == 1
        status = _cli(["patch", "status", mission, "--wait", str(patch_file), "--timeout", "20",
                       "--json", str(tmp_path / "status.json")], ros_env, 60)
        assert status.returncode == 0, status.stdout + status.stderr
        out, _ = launch.communicate(timeout=60)
    finally:
        if launch.poll() is None:
            launch.terminate()
            launch.wait(timeout=20)
    assert launch.returncode == 0, out[-3000:]
    st = json.loads((tmp_path / "status.json").read_text())
    result = Patch.load(patch_file).manifest["result_hash"][:16]
    for name in ("cf1", "cf2", "cf3", "cf4"):
        assert st[name]["state"] == "installed" and st[name]["version"] == "2" and st[name]["hash"] == result
        assert st[name]["label"] == NEW_CLASSES[0] and st[name]["label_model"] == result
    assert st["x2"]["version"] == "1" and st["x2"]["hash"] == base.hash()[:16]
    assert st["x2"]["label"] in base.classes and st["x2"]["label_model"] == base.hash()[:16]
    assert st["x2"]["fallback"]["from"] == "B" and st["x2"]["fallback"]["to"] == "A"
    assert st["x1"]["state"] == "failed" and "no model slot verifies" in st["x1"]["reason"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["update_radio"]["lost"] > 0                  # the loss model acted on update packets
    versions = _bag_versions(tmp_path / "run" / "bag")
    assert {n: v[-1] for n, v in versions.items()} == {"cf1": "2", "cf2": "2", "cf3": "2", "cf4": "2", "x2": "1"}
    assert all(v[0] == "1" for v in versions.values())
    inferences = _bag_inferences(tmp_path / "run" / "bag")
    assert set(inferences) == set(versions)
    for name, seen in inferences.items():                       # hot swap: same process, new answer
        assert len({pid for pid, _l, _m in seen}) == 1, name
        assert seen[0][2] == base.hash()[:16] and seen[0][1] in base.classes, name
        assert seen[-1][1:] == ((NEW_CLASSES[0], result) if name.startswith("cf") else (seen[0][1], seen[0][2]))


def _bag_statuses(bag_dir):
    (mcap_file,) = bag_dir.glob("*.mcap")
    with open(mcap_file, "rb") as f:
        for _s, channel, _m, msg in make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
            if channel.topic.endswith("/update/status"):
                yield channel.topic.split("/")[1], update_status_dict(msg)   # decoded from the bag's schema


def _bag_versions(bag_dir) -> dict:
    out: dict = {}
    for name, s in _bag_statuses(bag_dir):
        if "version" in s:                  # not the `failed` status of a drone without a model
            out.setdefault(name, []).append(s["version"])
    return out


def _bag_inferences(bag_dir) -> dict:
    """name -> [(pid, label, label_model), ...] of every status that carries an inference."""
    out: dict = {}
    for name, s in _bag_statuses(bag_dir):
        if "label" in s:
            out.setdefault(name, []).append((s["pid"], s["label"], s["label_model"]))
    return out


def test_mission_with_updates_starts_an_update_server(tmp_path):
    from swarm_ros.launching import node_specs
    from swarm_ros.mission import load_mission
    keypair(tmp_path, "ops")
    m = load_mission(_mission(tmp_path, tmp_path / "ops.pub"))
    assert m.updates.server_position == (0, -7, 1) and m.updates.chunk_size == 1024
    assert [s.executable for s in node_specs(m) if s.executable == "update_server"] == ["update_server"]
    assert "updates" in m.record.topics
    assert not [s for s in node_specs(load_mission(REPO / "config" / "missions" / "rings.yaml"))
                if s.executable == "update_server"]
