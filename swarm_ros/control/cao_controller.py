"""CAO as a drone controller: each drone runs its own CAO agent and flies to its decisions.

Every `period` seconds of mission time from the start of the task phase (iteration k at
start + k * period, from the drone's own clock), a drone reports where it is (its decision
x_i(k)) to the mission's cost evaluator. When the evaluator's answer (Delta_i(k), J(k)) comes
back, the drone's agent records it and picks its next decision among random candidates that
its own constraints allow: inside the geofence (with a margin), inside its altitude band,
clear of the obstacles of its map, and apart from its neighbours' last known positions (their
radio beacons). It then flies there under the shared safety layer. A lost answer just skips
that drone's update. A fixed altitude (altitude: [h, h]) makes decisions 2-D (x, y).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from swarm_ros.core.configfile import Number, Section, Vector
from .cao import CAOParams, CAOTeam
from .cao_service import ObjectiveService
from .cao_testbed import agent_seed
from .contract import Observations, ServiceClient, clip_norm
from .safety import SafetyParams, safe_velocity

POSITIVE = Number(0, lo_open=True)


@dataclass(frozen=True)
class CAOControlParams:
    altitude: tuple = (1.0, 3.0)        # m, band of decision altitudes (equal ends: fixed, 2-D decisions)
    window: int = 5                     # T_w
    candidates: int = 100               # M
    step_max: float = 2.0               # m, perturbation amplitude at iteration 0 ...
    step_min: float = 0.3               # m, ... decaying linearly to this at `horizon`
    horizon: int = 60                   # iterations
    redraws: int = 2
    separation: float = 1.0             # m kept between decisions beyond both body radii
    obstacle_margin: float = 0.8        # m kept from obstacles beyond the body radius
    fence_margin: float = 0.8           # m kept inside the geofence walls
    speed: float = 1.5                  # m/s cruise (the vehicle limit applies too)
    gain: float = 1.2                   # 1/s towards the decision
    safety: SafetyParams = field(default_factory=SafetyParams)
    # Filled from the mission, not the role's params: the objective (its schedule) and the map.
    objective: object = None
    world: object = None
    seed: int = 0

    @classmethod
    def read(cls, sec: Section) -> "CAOControlParams":
        d, count = cls(), Number(1, 10000, integer=True)
        alt = sec.get("altitude", Vector(2, POSITIVE), d.altitude)
        if alt[0] > alt[1]:
            raise sec.error("altitude", f"got {list(alt)}", "[lowest, highest] with lowest <= highest")
        out = cls(alt, sec.get("window", count, d.window), sec.get("candidates", count, d.candidates),
                  sec.get("step_max", POSITIVE, d.step_max), sec.get("step_min", Number(0), d.step_min),
                  sec.get("horizon", count, d.horizon), sec.get("redraws", Number(0, 100, integer=True), d.redraws),
                  sec.get("separation", Number(0), d.separation),
                  sec.get("obstacle_margin", Number(0), d.obstacle_margin),
                  sec.get("fence_margin", Number(0), d.fence_margin), sec.get("speed", POSITIVE, d.speed),
                  sec.get("gain", POSITIVE, d.gain), SafetyParams.read(sec.section("safety", required=False)))
        sec.finish()
        return out

    def bind(self, world, objective, seed: int) -> "CAOControlParams":
        return replace(self, world=world, objective=objective, seed=seed)

    @property
    def dims(self) -> int:
        return 2 if self.altitude[0] == self.altitude[1] else 3

    def optimiser(self, world) -> CAOParams:
        span = world.bounds_max[:self.dims] - world.bounds_min[:self.dims]
        return CAOParams(window=self.window, candidates=self.candidates, step_max=self.step_max,
                         step_min=self.step_min, horizon=self.horizon, redraws=self.redraws,
                         scale=tuple(span), centre=True)


class CAOController(ServiceClient):
    Params = CAOControlParams
    service = ObjectiveService

    def __init__(self, params: CAOControlParams, vehicles, home, group: int = 0):
        super().__init__(params, vehicles, home, group)
        self.world, self.d = params.world, params.dims
        self.speed = np.minimum(self.max_speed, params.speed)
        self.team: CAOTeam | None = None
        n = len(self.vehicles)
        self.next_k = np.zeros(n, dtype=np.intp)          # the next iteration to report
        self.waiting = np.full(n, -1, dtype=np.intp)      # iteration whose answer is awaited
        self.reported = np.zeros((n, self.d))

    # --- decisions ----------------------------------------------------------------------------
    def _lift(self, x: np.ndarray) -> np.ndarray:
        """Decisions (..., d) as 3-D points."""
        if self.d == 3:
            return x
        return np.concatenate([x, np.full(x.shape[:-1] + (1,), self.params.altitude[0])], axis=-1)

    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        w, p = self.world, self.params
        lo = np.r_[w.bounds_min[:2] + p.fence_margin, p.altitude[0]][:self.d]
        hi = np.r_[w.bounds_max[:2] - p.fence_margin, min(p.altitude[1], w.bounds_max[2] - p.fence_margin)][:self.d]
        return lo, hi

    def feasibility(self, obs: Observations):
        """The drone's own constraints on decisions, from its map and its neighbours' beacons."""
        lo, hi = self._box()
        nb, rcv = obs.neighbours, obs.neighbours.receiver

        def feasible(rows: np.ndarray, cand: np.ndarray) -> np.ndarray:
            ok = np.all((cand >= lo) & (cand <= hi), axis=-1)
            pts = self._lift(cand)
            if self.world.n_obstacles:
                clear = self.world.clearance(pts.reshape(-1, 3)).reshape(ok.shape)
                ok &= clear >= self.radius[rows, None] + self.params.obstacle_margin
            for i, r in enumerate(rows):
                mine = rcv == r
                if mine.any():
                    gap = np.linalg.norm(pts[i, :, None] - nb.position[mine][None], axis=-1) - nb.radius[mine]
                    ok[i] &= (gap >= self.radius[r] + self.params.separation).all(axis=1)
            return ok
        return feasible

    def step_batch(self, obs: Observations) -> np.ndarray:
        p = self.params
        lo, hi = self._box()
        here = obs.position[:, :self.d]
        if self.team is None:                       # first task tick: start from here, inside the band
            self.team = CAOTeam(p.optimiser(self.world), np.clip(here, lo, hi),
                                [agent_seed(p.seed, int(i)) for i in obs.ids])
            self.next_k[:] = p.objective.next_iteration(obs.t)    # a drone started mid-mission joins now
        if self.inbox:
            self._learn(obs)
        due = obs.t + 1e-9 >= p.objective.iteration_time(self.next_k)
        for r in np.nonzero(due)[0]:
            # The evaluator measures where the drone is; its window keeps that point inside
            # the drone's decision box (it may still be climbing into its band).
            self.reported[r], self.waiting[r] = np.clip(here[r], lo, hi), self.next_k[r]
            self.outbox.append((int(r), np.r_[self.next_k[r], obs.t, here[r]]))
            self.next_k[r] += 1
        target = self._lift(self.team.x)
        v = clip_norm(p.gain * (target - obs.position), self.speed)
        return safe_velocity(obs, v, self.radius, self.speed, p.safety)

    def _learn(self, obs: Observations) -> None:
        """Record the evaluator's answers and pick the next decisions of those drones."""
        rows, deltas, costs = [], [], []
        for r, (k, delta, cost) in self.inbox:
            if k == self.waiting[r] and r not in rows:
                rows.append(r)
                deltas.append(delta)
                costs.append(cost)
                self.waiting[r] = -1
        self.inbox.clear()
        if rows:
            rows = np.array(rows, dtype=np.intp)
            self.team.x[rows] = self.reported[rows]      # the decision actually flown
            self.team.step(np.array(deltas), np.array(costs), self.feasibility(obs), rows)
