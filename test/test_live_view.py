"""The Foxglove live view: scene building, and a real WebSocket client (the `websockets`
package) watching `swarm-ros headless --view foxglove` fly, decoding its scenes with protobuf
from the schema the server advertises."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest

from conftest import _domains
from ros2util import short_rings

pytest.importorskip("foxglove")
websockets = pytest.importorskip("websockets")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

from swarm_ros.live_scene import SwarmScene, radio_pairs  # noqa: E402
from swarm_ros.live_topics import CHANNELS, SCENE, SCENE_SCHEMA, STATUS, TELEMETRY, WORLD_SCENE  # noqa: E402

SUBPROTOCOL = "foxglove.sdk.v1"     # what foxglove-sdk's server speaks (the app's ws-protocol successor)


def message_class(name: str, schema: bytes):
    """A protobuf class for `name` from a serialized FileDescriptorSet."""
    pool = descriptor_pool.DescriptorPool()
    for f in descriptor_pb2.FileDescriptorSet.FromString(schema).file:
        pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


# --- scene building, no server --------------------------------------------------------------------

def test_radio_pairs_are_the_pairs_within_the_smaller_range():
    rng = np.random.default_rng(3)
    p = rng.uniform(-10, 10, (40, 3))
    ranges = rng.uniform(2, 8, 40)
    expected = {(i, j) for i in range(40) for j in range(i + 1, 40)
                if np.linalg.norm(p[i] - p[j]) <= min(ranges[i], ranges[j])}
    got = {tuple(sorted(map(int, pair))) for pair in radio_pairs(p, ranges)}
    assert got == expected and 0 < len(expected) < 40 * 39 // 2


def test_scene_draws_every_drone_the_planned_paths_and_the_world(rings_mission):
    from foxglove.messages import SceneUpdate
    cls = message_class(SCENE_SCHEMA, SceneUpdate.get_schema().data)
    scene = SwarmScene(rings_mission)
    n = len(rings_mission.fleet.drones)
    p = np.array([d.start for d in rings_mission.fleet.drones], float) + [0, 0, 1.0]
    path = np.array([[0, 0, 1], [1, 2, 1.5], [2, 4, 2]], float)
    scene.set_path(2, path)
    update = cls.FromString(scene.drones(1.0, p).encode())
    ents = {e.id: e for e in update.entities}
    drones = [ents[f"drone/{d.name}"] for d in rings_mission.fleet.drones]
    assert len(drones) == n
    np.testing.assert_allclose([[e.spheres[0].pose.position.x, e.spheres[0].pose.position.y,
                                 e.spheres[0].pose.position.z] for e in drones], p, atol=1e-9)
    colours = {d.type: (e.spheres[0].color.r, e.spheres[0].color.g, e.spheres[0].color.b)
               for d, e in zip(rings_mission.fleet.drones, drones)}
    assert len(set(colours.values())) == len(colours) > 1          # one colour per vehicle type
    (line,) = ents["paths"].lines
    np.testing.assert_allclose([[q.x, q.y, q.z] for q in line.points], path)
    pairs = len(radio_pairs(p, scene.ranges))
    assert len(ents["radio"].lines[0].points) == 2 * pairs and pairs > 0
    scene.set_path(2, np.empty((0, 3)))                               # no path found: none drawn
    assert not {e.id: e for e in cls.FromString(scene.drones(1.1, p).encode()).entities}["paths"].lines
    world = {e.id: e for e in cls.FromString(scene.world_update(0.0).encode()).entities}
    assert len(world["geofence"].lines[0].points) == 24               # the 12 edges of the fence box
    assert len(world["obstacles"].cubes) + len(world["obstacles"].cylinders) == len(rings_mission.world.obstacles)


def test_planner_answers_are_paths_and_other_services_draw_none():
    from swarm_ros.control.plugin import MissionService
    from swarm_ros.control.planned_service import PlannerService
    answer = np.r_[3.0, 2, 0.5, 1, 2, 3, 1.0, 4, 5, 6]
    np.testing.assert_allclose(PlannerService.path_of(answer), [[1, 2, 3], [4, 5, 6]])
    assert PlannerService.plans_paths() and not MissionService.plans_paths()
    assert MissionService.path_of(answer) is None


def test_the_swarm_view_node_serves_the_live_view_only_when_asked(rings_mission):
    from swarm_ros.launching import node_specs

    def view_params(**kw):
        (spec,) = [s for s in node_specs(rings_mission, record=False, **kw) if s.executable == "swarm_view"]
        return spec.parameters
    assert "live_port" not in view_params()
    assert view_params(live=("127.0.0.1", 8765)).items() >= {"live_host": "127.0.0.1", "live_port": 8765}.items()


def test_launch_file_view_port_argument():
    pytest.importorskip("launch_ros")          # the ROS 2 launch tooling (not on PyPI)
    from swarm_ros.launch_actions import MissionFailed, port_number
    assert port_number("view_port", "") is None and port_number("view_port", "9000") == 9000
    with pytest.raises(MissionFailed, match="view_port:='70000'"):
        port_number("view_port", "70000")


# --- the CLI and a real WebSocket client ------------------------------------------------------------

async def connect(url: str, patience: float):
    """A connection to `url`, retried while the server is not up yet (a node still starting)."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await websockets.connect(url, subprotocols=[SUBPROTOCOL], max_size=None)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def watch(url: str, timeout: float = 120.0, patience: float = 0.0):
    """Connect, check the advertised channels, subscribe to all, collect messages until the server
    goes away. Returns (serverInfo, {topic: channel}, {topic: [payload]})."""
    async with await connect(url, patience) as ws:
        info = json.loads(await asyncio.wait_for(ws.recv(), 30))
        channels: dict = {}
        while not set(CHANNELS) <= set(channels):
            msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if msg["op"] == "advertise":
                channels.update({c["topic"]: c for c in msg["channels"]})
        await ws.send(json.dumps({"op": "subscribe", "subscriptions": [
            {"id": c["id"], "channelId": c["id"]} for c in channels.values()]}))
        topic_of = {c["id"]: t for t, c in channels.items()}
        got = defaultdict(list)

        async def collect():
            async for raw in ws:
                if isinstance(raw, bytes) and raw[0] == 1:          # message data: op, subscription, time
                    (sub,) = struct.unpack_from("<I", raw, 1)
                    got[topic_of[sub]].append(raw[13:])
        try:
            await asyncio.wait_for(collect(), timeout)
        except websockets.ConnectionClosed:
            pass
    return info, channels, got


def view_a_run(command: list[str], cwd, env=None, patience: float = 0.0):
    """Start a `swarm-ros` command with --view, watch it to its end; (stdout, client's findings)."""
    proc = subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    try:
        url, seen = None, []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("live view: open "):
                url = line.split()[3]
                break
        assert url and url.startswith("ws://127.0.0.1:"), "".join(seen) + proc.stderr.read()   # loopback
        found = asyncio.run(watch(url, patience=patience))
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    assert "Traceback" not in err and "Callback failed" not in err, err[-2000:]
    return "".join(seen) + out, found


def check_what_was_seen(mission, found, mode: str) -> None:
    """The channels advertised, and scenes, telemetry and status of the whole swarm flying."""
    info, channels, got = found
    n = len(mission.fleet.drones)
    assert info["name"] == f"swarm_ros {mission.name}"
    assert {t: c["schemaName"] for t, c in channels.items()} == CHANNELS
    assert channels[SCENE]["encoding"] == "protobuf" and channels[TELEMETRY]["encoding"] == "json"

    scene_cls = message_class(SCENE_SCHEMA, base64.b64decode(channels[SCENE]["schema"]))
    frames = [scene_cls.FromString(b) for b in got[SCENE]]
    assert len(frames) > 20
    lo, hi = mission.world.bounds_min, mission.world.bounds_max
    airborne = 0
    for frame in frames:
        drones = [e for e in frame.entities if e.id.startswith("drone/")]
        assert sorted(e.id for e in drones) == sorted(f"drone/{d.name}" for d in mission.fleet.drones)
        p = np.array([[e.spheres[0].pose.position.x, e.spheres[0].pose.position.y, e.spheres[0].pose.position.z]
                      for e in drones])
        assert ((p >= lo - 0.5) & (p <= hi + 0.5)).all()                 # inside the geofence
        airborne += bool((p[:, 2] > 0.5).all())
        radio = next(e for e in frame.entities if e.id == "radio")
        assert sum(len(line.points) for line in radio.lines) <= n * (n - 1)
    assert airborne > 5                                                 # the swarm flew
    world = {e.id: e for e in scene_cls.FromString(got[WORLD_SCENE][0]).entities}
    assert len(world["obstacles"].cubes) + len(world["obstacles"].cylinders) == len(mission.world.obstacles)

    telemetry = [json.loads(b) for b in got[TELEMETRY]]
    assert all(len(t["drones"]) == n for t in telemetry)
    assert max(t["altitude"]["max"] for t in telemetry) > 0.8
    status = [json.loads(b) for b in got[STATUS]]
    assert status[-1]["t"] > mission.duration - 1.0 and status[-1]["mode"] == mode


def test_headless_view_serves_the_flying_swarm_to_a_websocket_client(tmp_path):
    from swarm_ros.mission import load_mission
    mission_file = short_rings(tmp_path, duration=8.0)
    out, found = view_a_run(["headless", str(mission_file), "--view", "foxglove", "--view-port", "0",
                             "--view-wait", "60", "--speed", "4"], tmp_path)
    check_what_was_seen(load_mission(mission_file), found, "headless")
    assert "collisions" in out                                          # the summary table still printed


@pytest.mark.e2e
def test_launch_view_serves_the_swarm_flying_over_ros(tmp_path):
    from swarm_ros.mission import load_mission
    mission_file = short_rings(tmp_path, duration=8.0)
    env = dict(os.environ, ROS_DOMAIN_ID=str(next(_domains)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    out, found = view_a_run(["launch", str(mission_file), "--view", "foxglove", "--view-port", "0", "--speed", "2",
                             "--no-record", "--run-dir", str(tmp_path / "run")], tmp_path, env, patience=60)
    check_what_was_seen(load_mission(mission_file), found, "real time")
    assert "collisions" in out
    (log,) = (tmp_path / "run" / "logs").glob("*swarm_view*")
    assert "live view at ws://127.0.0.1:" in log.read_text() and "Callback failed" not in log.read_text()


def test_a_taken_port_is_one_line_and_exit_code_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "headless", "rings", "--view", "foxglove",
                              "--view-port", str(port)], capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, COLUMNS="200"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and line.startswith("error: --view")


def test_headless_pacing_options_need_the_view(capsys):
    from swarm_ros.cli import main
    assert main(["headless", "rings", "--speed", "2"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: --speed") and "--view" in line


def test_launch_view_needs_published_poses(tmp_path):
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", "first_flight", "--view", "foxglove",
                          "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "view_rate" in line and "first_flight" in line
    assert not (tmp_path / "run").exists()                              # nothing started
