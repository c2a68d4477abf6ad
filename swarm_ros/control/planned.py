"""Planned flight: each drone asks the mission's planning service for a GMT* path to each of its
goals and flies the timed path, replanning when its own sensor finds an obstacle in the way.

At the start of the task phase (and after each goal) a drone sends a request (where it is,
its goal, and the shapes of the obstacles it has sensed that are not on its map) through
`messages()`; the answer (a path with the mission time of each point, see
planning/service.py) comes back through `deliver()`. The drone tracks a reference that moves
along the path at the path's timing, but waits for the drone when it lags more than
`max_lag` (tracking error, the safety layer's detours), with a velocity feed-forward plus a
proportional pull, under the shared safety layer. When its sensor sees an obstacle that is
not on its map (one that appeared mid-mission, `appear_at` in the world file) and the rest of
its path passes within the planning clearance of it, the drone holds position and asks for a
new path. A request without an answer, or an answer without a path, is repeated after `retry` s.
The sensor model: an obstacle within sensing range is seen whole (its shape goes into requests).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from swarm_ros.core.configfile import Bool, ListOf, Number, Section, Vector
from swarm_ros.planning.service import PlanSpec, decode_answer, encode_request, obstacle_set, shape_record
from .contract import Observations, ServiceClient, clip_norm
from .planned_service import PlannerService
from .safety import SafetyParams, safe_velocity

POSITIVE = Number(0, lo_open=True)
# The path already keeps `margin` from obstacles: the reactive layer only acts closer than that.
PLANNED_SAFETY = SafetyParams(obstacle_margin=0.15)


@dataclass(frozen=True)
class PlannedParams:
    goals: tuple = ((0.0, 0.0, 1.0),)
    relative: bool = False              # goals as offsets from each drone's start position
    speed: float = 1.0                  # m/s cruise (the vehicle's limits apply too)
    altitude: tuple = (0.5, 3.0)        # m, band the planner may use
    samples: int = 2000                 # roadmap samples
    lam: float = 0.5                    # GMT* group factor
    margin: float = 0.25                # m of planned clearance beyond the body radius
    fence_margin: float = 0.5           # m of the geofence the planner leaves out
    gain: float = 1.5                   # 1/s pull towards the reference
    max_lag: float = 0.5                # m the reference runs ahead at most
    tolerance: float = 0.2              # m at which a goal counts as reached
    retry: float = 1.0                  # s before a request without a usable answer is repeated
    replan: bool = True                 # replan when a sensed obstacle blocks the path
    safety: SafetyParams = field(default_factory=lambda: PLANNED_SAFETY)
    world: object = None                # filled from the mission: the map and the geofence
    seed: int = 0

    @classmethod
    def read(cls, sec: Section) -> "PlannedParams":
        d = cls()
        goals = sec.get("goals", ListOf(Vector(3), min_len=1))
        alt = sec.get("altitude", Vector(2, POSITIVE), d.altitude)
        if alt[0] >= alt[1]:
            raise sec.error("altitude", f"got {list(alt)}", "[lowest, highest] with lowest < highest")
        out = cls(tuple(tuple(g) for g in goals), sec.get("relative", Bool(), d.relative),
                  sec.get("speed", POSITIVE, d.speed), tuple(alt),
                  sec.get("samples", Number(100, 100000, integer=True), d.samples),
                  sec.get("lambda", Number(0, 1, lo_open=True), d.lam), sec.get("margin", Number(0), d.margin),
                  sec.get("fence_margin", Number(0), d.fence_margin), sec.get("gain", POSITIVE, d.gain),
                  sec.get("max_lag", POSITIVE, d.max_lag), sec.get("tolerance", POSITIVE, d.tolerance),
                  sec.get("retry", POSITIVE, d.retry), sec.get("replan", Bool(), d.replan),
                  SafetyParams.read(sec.section("safety", required=False), PLANNED_SAFETY))
        sec.finish()
        return out

    def bind(self, world, seed: int) -> "PlannedParams":
        return replace(self, world=world, seed=seed)

    def box(self, world) -> tuple[np.ndarray, np.ndarray]:
        """The planning box: the geofence less `fence_margin`, heights within the band."""
        lo = np.r_[world.bounds_min[:2] + self.fence_margin, self.altitude[0]]
        hi = np.r_[world.bounds_max[:2] - self.fence_margin, min(self.altitude[1], world.bounds_max[2] - self.fence_margin)]
        return lo, hi

    def targets(self, home: np.ndarray) -> np.ndarray:
        """Goals of each drone (N, G, 3)."""
        g = np.array(self.goals, float)[None]
        return g + (np.asarray(home, float)[:, None] if self.relative else 0.0)

    def spec(self, vehicle) -> PlanSpec:
        lo, hi = self.box(self.world)
        return PlanSpec(vehicle, tuple(lo), tuple(hi), self.samples, self.lam, self.margin,
                        min(self.speed, vehicle.max_speed), self.seed)


class PlannedController(ServiceClient):
    Params = PlannedParams
    service = PlannerService

    @classmethod
    def bind(cls, params: PlannedParams, role) -> PlannedParams:
        """Give the role the world; each drone's goals must lie in its planning box, clear of
        every obstacle (those appearing later too) by its body radius plus the planning margin."""
        world, field = role.world, role.params_field
        params = params.bind(world, role.seed)
        lo, hi = params.box(world)
        if not (lo < hi).all():
            raise role.top.error(f"{field}.altitude", f"got {list(params.altitude)}", f"a band reaching below "
                                 f"{hi[2]:g} m (the geofence ceiling of world {world.name!r} less fence_margin)")
        for d in role.drones:
            goals = params.targets(np.array([d.start], float))[0]
            need = d.vehicle.body_radius + params.margin
            clear = world.clearance(goals)
            for k, g in enumerate(goals):
                if not ((g >= lo) & (g <= hi)).all() or clear[k] < need:
                    where = "outside the planning box" if clear[k] >= need else f"{clear[k]:.3g} m from an obstacle"
                    raise role.top.error(f"{field}.goals[{k}]", f"{g.tolist()} for drone {d.name!r} is {where}",
                                         f"a point within {lo.tolist()} .. {hi.tolist()} (geofence less "
                                         f"fence_margin, heights in altitude) at least {need:g} m from every obstacle")
        return params

    def __init__(self, params: PlannedParams, vehicles, home, group: int = 0):
        super().__init__(params, vehicles, home, group)
        self.world = params.world
        n = len(self.vehicles)
        self.goals = params.targets(self.home)                  # (N, G, 3)
        self.goal = np.zeros(n, dtype=np.intp)                  # index of the goal being flown to
        self.inflate = self.radius + params.margin
        self.pending = np.full(n, np.nan)                       # id of the request awaiting an answer
        self.asked = np.full(n, -np.inf)                        # mission time of the last request
        self.paths: list = [None] * n                           # (times from 0, points) being flown
        self.tau = np.zeros(n)                                  # progress along the path, s
        self.known = [set() for _ in range(n)]                  # sensed obstacles not on the map
        self.replans = np.zeros(n, dtype=np.intp)
        self.last_t = None

    # --- messages with the planning service ---------------------------------------------------
    def _request(self, r: int, t: float, position: np.ndarray) -> None:
        shapes = [shape_record(self.world.ordered[j]) for j in sorted(self.known[r])]
        self.outbox.append((r, encode_request(t, position, self.goals[r, self.goal[r]], shapes)))
        self.pending[r], self.asked[r], self.paths[r] = t, t, None

    def _receive(self) -> None:
        for r, data in self.inbox:
            try:
                rid, times, points = decode_answer(data)
            except ValueError:
                continue
            if not abs(rid - self.pending[r]) < 1e-6:        # ids travel as ns stamps over ROS
                continue                                         # an answer to an older request
            self.pending[r] = np.nan
            if len(points) >= 2:
                self.paths[r], self.tau[r] = (times - times[0], points), 0.0
        self.inbox.clear()

    # --- sensing ------------------------------------------------------------------------------
    def _sense(self, obs: Observations) -> None:
        """Remember newly sensed obstacles; replan where one blocks the rest of the path."""
        clear = obs.sensing.obstacle_clearance
        if not clear.size or self.world.mapped.all():
            return
        seen = np.isfinite(clear) & ~self.world.mapped[None]
        for r in np.nonzero(seen.any(axis=1))[0]:
            new = set(np.nonzero(seen[r])[0].tolist()) - self.known[r]
            if not new:
                continue
            self.known[r] |= new
            if self.params.replan and self.paths[r] is not None and self._blocked(r, obs.position[r], new):
                self.replans[r] += 1
                self._request(r, obs.t, obs.position[r])

    def _blocked(self, r: int, here: np.ndarray, new: set) -> bool:
        times, points = self.paths[r]
        ahead = np.r_[here[None], points[np.searchsorted(times, self.tau[r], side="right"):]]
        if len(ahead) < 2:
            return False
        rec = np.array([shape_record(self.world.ordered[j]) for j in sorted(new)])
        obstacles = obstacle_set(self.world.bounds_min, self.world.bounds_max, rec, self.inflate[r])
        return bool(obstacles.segments_hit(ahead[:-1], ahead[1:]).any())

    # --- flight -------------------------------------------------------------------------------
    def _reference(self, r: int, here: np.ndarray, dt: float):
        """Where the drone should be now on its path, and the path's velocity there."""
        times, points = self.paths[r]
        ref = np.array([np.interp(self.tau[r], times, points[:, k]) for k in range(3)])
        if np.linalg.norm(ref - here) < self.params.max_lag:
            self.tau[r] = min(self.tau[r] + dt, times[-1])
            ref = np.array([np.interp(self.tau[r], times, points[:, k]) for k in range(3)])
        if self.tau[r] >= times[-1]:
            return ref, np.zeros(3)
        k = min(int(np.searchsorted(times, self.tau[r], side="right")), len(times) - 1)
        return ref, (points[k] - points[k - 1]) / max(times[k] - times[k - 1], 1e-9)

    def step_batch(self, obs: Observations) -> np.ndarray:
        p = self.params
        dt = 0.0 if self.last_t is None else obs.t - self.last_t
        self.last_t = obs.t
        self._receive()
        self._sense(obs)
        n_goals = self.goals.shape[1]
        v = np.zeros((obs.n, 3))
        for r in range(obs.n):
            here = obs.position[r]
            goal = self.goals[r, self.goal[r]]
            if self.paths[r] is not None:
                ref, v_ff = self._reference(r, here, dt)
                done = self.tau[r] >= self.paths[r][0][-1] and np.linalg.norm(goal - here) < p.tolerance
                if done and self.goal[r] + 1 < n_goals:
                    self.goal[r] += 1
                    self._request(r, obs.t, here)
                    continue
                v[r] = v_ff + p.gain * (ref - here)
            elif obs.t - self.asked[r] >= p.retry:              # first request, or no usable answer
                self._request(r, obs.t, here)
        v = clip_norm(v, np.minimum(self.max_speed, p.speed))
        return safe_velocity(obs, v, self.radius, self.max_speed, p.safety)
