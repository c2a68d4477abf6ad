"""Live view: a Foxglove WebSocket server (foxglove-sdk) showing a mission as it flies.

A user with only `pip install swarm_ros[view]` opens Foxglove, connects to ws://127.0.0.1:8765
and watches; no ROS needed. The headless runner feeds it through `FlightView` (an observer of
headless.fly), the ROS swarm_view node from /swarm/poses; both hand arrays to live_scene, so the
pictures agree. It serves loopback unless told otherwise: the view is for the machine it runs on.

Channels (live_topics.CHANNELS, what config/foxglove/swarm_layout.json shows):
  /swarm/scene        foxglove.SceneUpdate  drones (type colours), trails, planned paths, radio links
  /swarm/scene/world  foxglove.SceneUpdate  geofence and obstacles, re-sent every second so a client
                                            that connects late still draws them
  /swarm/telemetry    JSON  altitude and speed of each drone and their min/mean/max
  /swarm/status       JSON  progress and safety figures (the keys of the ROS /swarm/status)
"""
from __future__ import annotations

import threading
import time

import numpy as np

from .live_scene import SwarmScene
from .live_topics import CHANNELS, SCENE, STATUS, TELEMETRY, WORLD_SCENE

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
FRAME_RATE = 20.0       # scene frames per second of mission time, at most
CPU_SHARE = 0.2         # frames come less often when building them would take more of a core than
                        # this at real time (large swarms: about 0.15 ms per drone and frame)
WORLD_EVERY = 1.0       # s wall time between re-sent world scenes
INSTALL_HINT = "pip install 'swarm_ros[view]' (or pip install foxglove-sdk)"

_SPREAD = {"type": "object", "properties": {k: {"type": "number"} for k in ("min", "mean", "max")}}
TELEMETRY_JSON_SCHEMA = {"type": "object", "properties": {
    "t": {"type": "number"}, "altitude": _SPREAD, "speed": _SPREAD, "radio_links": {"type": "integer"},
    "drones": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "type": {"type": "string"}, "altitude": {"type": "number"},
        "speed": {"type": "number"}}}}}}
STATUS_JSON_SCHEMA = {"type": "object", "properties": {
    **{k: {"type": "number"} for k in ("t", "duration", "min_separation", "rtf")},
    **{k: {"type": "integer"} for k in ("collisions", "geofence_violations", "late_ticks")},
    "phase": {"type": "string"}, "mode": {"type": "string"}}}


def layout_file():
    """The shipped Foxglove layout for these channels (config/foxglove/swarm_layout.json)."""
    from .core.resources import share_dir
    return share_dir() / "config" / "foxglove" / "swarm_layout.json"


class ViewError(RuntimeError):
    """The live view cannot start (foxglove-sdk missing, port taken); the message says why."""


class LiveView:
    """The server and its channels. `frame()` publishes when a frame is due; call it as often
    as there are new positions."""

    def __init__(self, mission, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, frame_rate: float = FRAME_RATE):
        try:
            import foxglove
            from foxglove.channels import SceneUpdateChannel
        except ImportError:
            raise ViewError(f"the live view needs foxglove-sdk: {INSTALL_HINT}") from None
        self.scene, self.host = SwarmScene(mission), host
        self.min_period = self.period = 1.0 / frame_rate
        self.to_appear = sorted(t for t in mission.world.appear_at.tolist() if t > 0)
        self.context = foxglove.Context()
        self.subscribed = threading.Event()
        try:
            self.server = foxglove.start_server(name=f"swarm_ros {mission.name}", host=host, port=port,
                                                context=self.context, server_listener=_Listener(self.subscribed))
        except Exception as err:       # the SDK raises its own error types for bind failures
            raise ViewError(f"cannot serve the live view on {host}:{port}: {err}") from None
        self.scene_ch = SceneUpdateChannel(SCENE, context=self.context)
        self.world_ch = SceneUpdateChannel(WORLD_SCENE, context=self.context)
        self.telemetry_ch = foxglove.Channel(TELEMETRY, context=self.context, schema=foxglove.Schema(
            name=CHANNELS[TELEMETRY], encoding="jsonschema", data=_json_bytes(TELEMETRY_JSON_SCHEMA)),
            message_encoding="json")
        self.status_ch = foxglove.Channel(STATUS, context=self.context, schema=foxglove.Schema(
            name=CHANNELS[STATUS], encoding="jsonschema", data=_json_bytes(STATUS_JSON_SCHEMA)),
            message_encoding="json")
        self.last_t: float | None = None
        self.world_sent = -np.inf
        self.frames = 0

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.server.port}"

    def wait_for_client(self, timeout: float) -> bool:
        """Block until a client subscribes to the scene (or `timeout` s pass); True if one did."""
        return self.subscribed.wait(timeout)

    def frame(self, t: float, positions, velocities, status: dict | None = None) -> bool:
        """Publish the swarm at mission time t if a frame is due; True if one was published."""
        if self.last_t is not None and self.last_t <= t < self.last_t + self.period:
            return False
        now = time.monotonic()
        appeared = bool(self.to_appear) and t >= self.to_appear[0]
        if appeared or now - self.world_sent >= WORLD_EVERY or self.last_t is None or t < self.last_t:
            self.to_appear = [a for a in self.to_appear if a > t]
            self.world_ch.log(self.scene.world_update(t))
            self.world_sent = now
        self.last_t = t
        start = time.perf_counter()
        self.scene_ch.log(self.scene.drones(t, positions))
        for channel, value in ((self.telemetry_ch, self.scene.telemetry(t, positions, velocities)),
                               (self.status_ch, status)):
            data = _json_bytes(value) if value is not None else b""
            if data:
                channel.log(data)
        self.period = max(self.min_period, (time.perf_counter() - start) / CPU_SHARE)
        self.frames += 1
        return True

    def set_path(self, drone: int, points) -> None:
        self.scene.set_path(drone, points)

    def close(self) -> None:
        self.server.stop()


class FlightView:
    """The live view as an observer of headless.fly: frames as it flies, planned paths as the
    mission's services answer, and the flight held to `speed` x real time (a headless run is
    otherwise over before Foxglove has drawn it; 0 = as fast as possible)."""

    def __init__(self, view: LiveView, mission, speed: float = 1.0):
        self.view, self.mission, self.speed = view, mission, speed
        self.wall0: float | None = None

    def answered(self, drone: int, service, answer) -> None:
        path = service.path_of(answer)
        if path is not None:
            self.view.set_path(drone, path)

    def ticked(self, sim, commands) -> None:
        now = time.monotonic()
        if self.wall0 is None:
            self.wall0 = now - (sim.t / self.speed if self.speed > 0 else 0.0)
        if self.speed > 0:
            ahead = sim.t / self.speed - (now - self.wall0)
            if ahead > 0.002:
                time.sleep(ahead)
        if self.view.last_t is not None and self.view.last_t <= sim.t < self.view.last_t + self.view.period:
            return              # not due: skip building the status
        m, wall = sim.metrics, time.monotonic() - self.wall0
        status = {"t": sim.t, "duration": self.mission.duration, "phase": self.mission.phases.at(sim.t),
                  "collisions": len(m.collision_events), "geofence_violations": int(m.fence_violations.sum()),
                  "min_separation": m.overall_min_separation, "rtf": sim.t / wall if wall > 0 else 0.0,
                  "late_ticks": 0, "mode": "headless"}
        self.view.frame(sim.t, sim.position, sim.velocity, status)


class _Listener:
    """foxglove ServerListener: tells when a client subscribed to the scene. (The server calls
    only the subscription callbacks: the view advertises no capability that needs the others.)"""

    def __init__(self, subscribed: threading.Event):
        self.subscribed = subscribed

    def on_subscribe(self, client, channel) -> None:
        if channel.topic == SCENE:
            self.subscribed.set()

    def on_unsubscribe(self, client, channel) -> None:
        pass


def _json_bytes(value) -> bytes:
    """JSON for Foxglove: numbers that are not finite (no separation yet: inf) become null."""
    import json
    if isinstance(value, dict):
        value = {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in value.items()}
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:          # a NaN deeper down (a diverged vehicle): that message is skipped
        return b""
