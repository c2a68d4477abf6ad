"""Shape formation: drones spread over the surface of a signed-distance shape (sphere, ring, box).

Each drone moves down its own SDF gradient onto the surface and spreads over it away from the
neighbours of its own group (same role); the safety layer keeps separation to every neighbour,
obstacles and the geofence. Only the drone's own state, its sensing and received beacons are
used (after FlockGPT's SDF-target idea).

Two ways to spread (`spread`):
- "spacing": neighbours closer than `spacing` push the drone along the surface. The push ends
  at `spacing`, so drones stop wherever they are that far apart: on a ring whose even chord is
  longer than `spacing` they bunch on one side (two drones 8 m apart on a 5.5 m ring sit 93
  degrees apart, not 180), and near the even spread the push is weak, so they creep for long.
- "even" (rings only, their default): as well, each drone steers round the ring to the angular
  middle of its nearest group neighbours on either side (with one neighbour, the point opposite
  it). The even spread is then the only rest point, whatever `spacing` (gaps converge like a
  consensus on a cycle, at rate `spread_gain`); the push still keeps drones apart on the way.
  It needs the angular neighbours in radio range: for two drones, the ring's diameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np

from swarm_ros.core.configfile import Choice, Number, Section, Vector
from swarm_ros.core import geometry
from .contract import Controller, Observations, clip_norm
from . import formation_jit, safety_jit
from .safety import SafetyParams, safe_velocity

SHAPES = ("sphere", "ring", "box")
SPREADS = ("even", "spacing")


@dataclass(frozen=True)
class FormationParams:
    shape: str = "ring"
    center: tuple = (0.0, 0.0, 1.5)
    radius: float = 2.0            # sphere and ring
    size: tuple = (2.0, 2.0, 2.0)  # box
    spacing: float = 2.0           # m, neighbours of the same group closer than this push apart
    attract_gain: float = 1.0      # 1/s towards the surface
    spread_speed: float = 0.6      # m/s of push along the surface at zero distance
    speed: float = 1.0             # m/s cruise speed (the vehicle limit applies too)
    safety: SafetyParams = field(default_factory=SafetyParams)
    spread: str = "spacing"        # "even" (rings: angular middle of the neighbours) or "spacing"
    spread_gain: float = 0.5       # 1/s: "even" closes this share of the angular error per second

    @classmethod
    def read(cls, sec: Section) -> "FormationParams":
        d, pos = cls(), Number(0, lo_open=True)
        shape = sec.get("shape", Choice(SHAPES))
        spread = sec.get("spread", Choice(SPREADS if shape == "ring" else ("spacing",)),
                         "even" if shape == "ring" else "spacing")
        out = cls(shape, sec.get("center", Vector(3)),
                  sec.get("radius", pos, d.radius) if shape != "box" else d.radius,
                  sec.get("size", Vector(3, pos), d.size) if shape == "box" else d.size,
                  sec.get("spacing", pos, d.spacing), sec.get("attract_gain", pos, d.attract_gain),
                  sec.get("spread_speed", Number(0), d.spread_speed), sec.get("speed", pos, d.speed),
                  SafetyParams.read(sec.section("safety", required=False)), spread,
                  sec.get("spread_gain", pos, d.spread_gain))
        sec.finish()
        return out

    def sdf(self):
        if self.shape == "sphere":
            return partial(geometry.sdf_sphere, center=self.center, radius=self.radius)
        if self.shape == "ring":
            return partial(geometry.sdf_ring, center=self.center, radius=self.radius)
        return partial(geometry.sdf_box, center=self.center, half=np.asarray(self.size) / 2)


class FormationController(Controller):
    Params = FormationParams

    @classmethod
    def bind(cls, params: FormationParams, role) -> FormationParams:
        """The formation's centre must lie inside the geofence: a shape around a point outside it
        cannot be flown (the safety layer holds every drone at the fence)."""
        world = role.world
        if not world.inside_fence(np.array([params.center], float))[0]:
            raise role.top.error(f"{role.params_field}.center", f"{list(params.center)} is outside the geofence of "
                                 f"world {world.name!r}", f"a point within {world.bounds_min.tolist()} .. "
                                 f"{world.bounds_max.tolist()}")
        return params

    def __init__(self, params: FormationParams, vehicles, home, group: int = 0):
        super().__init__(params, vehicles, home, group)
        self.sdf = params.sdf()
        self.speed = np.minimum(self.max_speed, params.speed)

    def step_batch(self, obs: Observations) -> np.ndarray:
        p = self.params
        dist, normal = geometry.sdf_and_gradient(self.sdf, obs.position)
        v = -p.attract_gain * np.clip(dist, -2.0, 2.0)[:, None] * normal
        if p.spread == "even":
            v += self._even_spread(obs)
        # push along the surface, away from same-group neighbours within `spacing`
        if safety_jit.use_compiled(obs.n):
            v += formation_jit.spread(obs, normal, self.group, p.spacing, p.spread_speed)
            return safe_velocity(obs, clip_norm(v, self.speed), self.radius, self.speed, p.safety)
        nb = obs.neighbours
        rcv = nb.receiver
        diff = obs.position[rcv] - nb.position
        d = geometry.norm_rows(diff)
        mine = (nb.group == self.group) & (d < p.spacing) & (d > 1e-9)
        if mine.any():
            r = rcv[mine]
            push = diff[mine] / d[mine, None] * (p.spread_speed * (1.0 - d[mine] / p.spacing))[:, None]
            push -= np.einsum("ij,ij->i", push, normal[r])[:, None] * normal[r]   # tangential part
            for k in range(3):
                v[:, k] += np.bincount(r, weights=push[:, k], minlength=obs.n)
        v = clip_norm(v, self.speed)
        return safe_velocity(obs, v, self.radius, self.speed, p.safety)

    def _even_spread(self, obs: Observations) -> np.ndarray:
        """Tangential velocity (N, 3) towards the angular middle of the nearest same-group
        neighbours ahead and behind (one neighbour: the point opposite it), capped at spread_speed."""
        p, nb = self.params, obs.neighbours
        rcv = nb.receiver
        mine = nb.group == self.group
        out = np.zeros((obs.n, 3))
        if not mine.any():
            return out
        c = np.asarray(p.center, float)
        own = np.arctan2(obs.position[:, 1] - c[1], obs.position[:, 0] - c[0])
        r, sender = rcv[mine], nb.sender[mine]
        ahead = np.mod(np.arctan2(nb.position[mine, 1] - c[1], nb.position[mine, 0] - c[0]) - own[r], 2 * np.pi)
        # a neighbour at the very same angle: the lower fleet index counts as behind, so the two part
        ahead[(ahead < 1e-12) & (sender < obs.ids[r])] = 2 * np.pi
        nearest_ahead = np.full(obs.n, np.inf)
        farthest = np.full(obs.n, -np.inf)
        np.minimum.at(nearest_ahead, r, ahead)
        np.maximum.at(farthest, r, ahead)
        heard = np.isfinite(nearest_ahead)
        middle = 0.5 * (np.where(heard, nearest_ahead, 0.0) + np.where(heard, farthest, 0.0))
        error = np.where(heard, middle - np.pi, 0.0)      # rad to the middle, + is anticlockwise
        radial = np.hypot(obs.position[:, 0] - c[0], obs.position[:, 1] - c[1])
        speed = np.clip(p.spread_gain * np.maximum(radial, p.radius) * error, -p.spread_speed, p.spread_speed)
        out[:, 0] = -np.sin(own) * speed
        out[:, 1] = np.cos(own) * speed
        return out
