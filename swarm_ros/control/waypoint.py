"""Waypoint and hover controller: fly a list of waypoints at a cruise speed, then hold the last.

Waypoints are absolute (world frame) or, with `relative: true`, offsets from each drone's
home (start) position, so one role entry sends every drone of the role to its own points.
Hover is a single relative waypoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swarm_ros.core.configfile import Bool, ListOf, Number, Section, Vector
from swarm_ros.core.geometry import norm_rows
from .contract import Controller, Observations, clip_norm
from .safety import SafetyParams, safe_velocity


@dataclass(frozen=True)
class WaypointParams:
    waypoints: tuple = ((0.0, 0.0, 1.0),)
    relative: bool = True
    speed: float = 1.0          # m/s cruise speed (the vehicle limit applies too)
    gain: float = 1.5           # 1/s, proportional gain near a waypoint
    tolerance: float = 0.15     # m, distance at which a waypoint counts as reached
    loop: bool = False
    avoid: bool = True          # apply the safety layer
    safety: SafetyParams = field(default_factory=SafetyParams)

    @classmethod
    def read(cls, sec: Section) -> "WaypointParams":
        d, pos = cls(), Number(0, lo_open=True)
        wps = sec.get("waypoints", ListOf(Vector(3), min_len=1), list(d.waypoints))
        out = cls(tuple(tuple(w) for w in wps), sec.get("relative", Bool(), d.relative),
                  sec.get("speed", pos, d.speed), sec.get("gain", pos, d.gain),
                  sec.get("tolerance", pos, d.tolerance), sec.get("loop", Bool(), d.loop),
                  sec.get("avoid", Bool(), d.avoid), SafetyParams.read(sec.section("safety", required=False)))
        sec.finish()
        return out


class WaypointController(Controller):
    Params = WaypointParams

    @classmethod
    def bind(cls, params: WaypointParams, role) -> WaypointParams:
        """Every waypoint of every drone flying the role (relative ones from its start) inside the geofence."""
        world = role.world
        for d in role.drones:
            points = np.array(params.waypoints, float) + (np.array(d.start, float) if params.relative else 0.0)
            inside = world.inside_fence(points)
            if not inside.all():
                k = int(np.argmin(inside))
                raise role.top.error(f"{role.params_field}.waypoints[{k}]", f"{points[k].tolist()} for drone "
                                     f"{d.name!r} is outside the geofence of world {world.name!r}",
                                     f"points within {world.bounds_min.tolist()} .. {world.bounds_max.tolist()}")
        return params

    def __init__(self, params: WaypointParams, vehicles, home, group: int = 0):
        super().__init__(params, vehicles, home, group)
        wps = np.array(params.waypoints, float)                      # (W, 3)
        self.targets = wps[None] + (self.home[:, None] if params.relative else 0.0)   # (N, W, 3)
        self.index = np.zeros(len(self.vehicles), dtype=np.intp)     # current waypoint per drone
        self.speed = np.minimum(self.max_speed, params.speed)

    def step_batch(self, obs: Observations) -> np.ndarray:
        rows = np.arange(obs.n)
        w = self.targets.shape[1]
        reached = norm_rows(self.targets[rows, self.index] - obs.position) < self.params.tolerance
        nxt = self.index + reached
        self.index = nxt % w if self.params.loop else np.minimum(nxt, w - 1)
        v = clip_norm(self.params.gain * (self.targets[rows, self.index] - obs.position), self.speed)
        if self.params.avoid:
            v = safe_velocity(obs, v, self.radius, self.speed, self.params.safety)
        return v
