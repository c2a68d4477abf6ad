"""The problems BCD-CAO and its baselines are compared on, with one feasibility for every method.

A `Problem` is a testbed (built fresh for each run, since some learn or decay while they are
measured), the drones' start decisions, each drone's CAO tuning (its role's: the amplitude
schedule every method moves by) and the constraints every method must honour:

- a box per drone (the testbed's box; for missions the geofence less its margin and the
  drone's altitude band, as the CAO controller keeps them),
- obstacle clearance (missions: the world's obstacles, beyond body radius plus margin),
- a minimum distance between any two drones' decisions (missions: both body radii plus the
  role's separation; testbeds: `min_separation`, 0 for the reference testbeds).

ROS-free: importable by tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from swarm_ros.control.cao import CAOParams
from swarm_ros.control.cao_controller import CAOController
from swarm_ros.control.cao_reference import AdaptiveCoverage2D, HoldTheLine
from swarm_ros.control.cao_testbed import Testbed


@dataclass
class Problem:
    name: str
    make: Callable[[], Testbed]         # a fresh testbed, ready to measure the N drones
    x0: np.ndarray                      # (N, d) start decisions
    params: list                        # CAOParams of each drone
    lo: np.ndarray                      # (N, d) box per drone
    hi: np.ndarray
    iterations: int
    need: np.ndarray | None = None      # (N, N) least distance between decisions of i and j
    world: object = None                # obstacles (missions)
    clearance: np.ndarray | None = None     # (N,) least obstacle clearance of each drone
    altitude: np.ndarray | None = None      # (N,) flight altitude when decisions are 2-D (x, y)
    roles: list | None = None           # the drones' roles (missions)
    points: Callable | None = field(default=None, repr=False)   # (testbed) -> (P, 2) points, (P,) weights

    @property
    def n(self) -> int:
        return len(self.x0)

    @property
    def d(self) -> int:
        return self.x0.shape[1]

    def groups(self) -> list[np.ndarray]:
        """Rows of the drones that share one CAO tuning (one role: one CAOTeam, as on board)."""
        out: dict[CAOParams, list] = {}
        for r, p in enumerate(self.params):
            out.setdefault(p, []).append(r)
        return [np.array(v, dtype=np.intp) for v in out.values()]

    def amplitude(self, k: int) -> np.ndarray:
        """(N,) each drone's perturbation amplitude at iteration k (per axis)."""
        return np.array([p.amplitude(k) for p in self.params], float)

    def lift(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Decisions (R, ..., d) of drones `rows` as 3-D points."""
        if x.shape[-1] == 3:
            return x
        z = self.altitude[rows].reshape((-1,) + (1,) * (x.ndim - 1))
        return np.concatenate([x, np.broadcast_to(z, x.shape[:-1] + (1,))], axis=-1)

    def unary(self, rows: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """(R, C): candidates (R, C, d) of drones `rows` inside their box and clear of obstacles."""
        ok = np.all((cand >= self.lo[rows, None]) & (cand <= self.hi[rows, None]), axis=-1)
        if self.world is not None and self.world.n_obstacles:
            pts = self.lift(cand, rows)
            ok &= self.world.clearance(pts.reshape(-1, 3)).reshape(ok.shape) >= self.clearance[rows, None]
        return ok

    def apart(self, rows: np.ndarray, cand: np.ndarray, others: np.ndarray) -> np.ndarray:
        """(R, C): candidates of drones `rows` far enough from the other drones at `others` (N, d)."""
        ok = np.ones(cand.shape[:2], dtype=bool)
        if self.need is None or self.n < 2:
            return ok
        pts, oth = self.lift(cand, rows), self.lift(others, np.arange(self.n))
        dist = np.linalg.norm(pts[:, :, None] - oth[None, None], axis=-1)            # (R, C, N)
        dist[np.arange(len(rows)), :, rows] = np.inf
        return ok & (dist >= self.need[rows][:, None, :]).all(axis=-1)

    def agent_feasibility(self, team_x: np.ndarray):
        """CAOTeam feasibility: own constraints and distance to the others' last known decisions."""
        def feasible(rows: np.ndarray, cand: np.ndarray) -> np.ndarray:
            return self.unary(rows, cand) & self.apart(rows, cand, team_x)
        return feasible

    def pair_violations(self, x: np.ndarray) -> np.ndarray:
        """(N, N) bool: pairs of drones closer than allowed in configuration x (N, d)."""
        if self.need is None or self.n < 2:
            return np.zeros((self.n, self.n), dtype=bool)
        p = self.lift(x, np.arange(self.n))
        dist = np.linalg.norm(p[:, None] - p[None], axis=-1)
        np.fill_diagonal(dist, np.inf)
        return dist < np.maximum(self.need, self.need.T)

    def configs_ok(self, configs: np.ndarray) -> np.ndarray:
        """(C,): whole team configurations (C, N, d) that satisfy every constraint."""
        rows = np.arange(self.n)
        ok = self.unary(rows, configs.transpose(1, 0, 2)).all(axis=0)
        if self.need is not None and self.n > 1:
            p = self.lift(configs.transpose(1, 0, 2), rows).transpose(1, 0, 2)        # (C, N, 3)
            dist = np.linalg.norm(p[:, :, None] - p[:, None], axis=-1)
            dist[:, rows, rows] = np.inf
            ok &= (dist >= np.maximum(self.need, self.need.T)).all(axis=(1, 2))
        return ok

    def repair(self, trial: np.ndarray, current: np.ndarray) -> np.ndarray:
        """`trial` with every drone whose move breaks a constraint sent back to `current`
        (assumed feasible): first its own constraints, then pairs, until none is left."""
        rows = np.arange(self.n)
        out = np.where(self.unary(rows, trial[:, None])[:, :1], trial, current)
        for _ in range(self.n):
            moved = np.any(out != current, axis=1)
            bad = (self.pair_violations(out) & moved[:, None]).any(axis=1)
            if not bad.any():
                break
            out[bad] = current[bad]
        return out


# --- the reference testbeds ---------------------------------------------------------------------

def _testbed_problem(name: str, cls, x0: np.ndarray, iterations: int | None, points) -> Problem:
    n = len(x0)
    lo, hi = np.broadcast_to(np.asarray(cls.lo, float), (n, cls.d)), np.broadcast_to(np.asarray(cls.hi, float), (n, cls.d))
    return Problem(name, cls, np.asarray(x0, float), [cls.params] * n, lo.copy(), hi.copy(),
                   iterations or cls.iterations, points=points)


def hold_the_line(n: int, seed: int, iterations: int | None = None) -> Problem:
    """Random starts in the unit square (the authors' validator); uniform points on the curve."""
    x0 = HoldTheLine().initial(n, np.random.default_rng(seed))
    return _testbed_problem("HoldTheLine", HoldTheLine, x0, iterations,
                            lambda tb: (tb.points, np.ones(len(tb.points))))


def adaptive_coverage(n: int, seed: int, iterations: int | None = None) -> Problem:
    """Random starts in the right half-plane (the paper's illustrative run); the density is the
    team's current estimate K(q)' a_hat, which is what the Schwager controller would use."""
    x0 = np.random.default_rng(seed).random((n, 2)) * [0.5, 1.0] + [0.5, 0.0]
    return _testbed_problem("AdaptiveCoverage2D", AdaptiveCoverage2D, x0, iterations,
                            lambda tb: (tb.q, tb.kq @ tb.a_hat))


# --- drone missions -----------------------------------------------------------------------------

def _mission_points(tb):
    """Lloyd's density for a mission objective: surveillance terrain points with their focus
    weights; persistent coverage cells weighted by their coverage deficit."""
    if hasattr(tb, "cells"):
        return tb.cells, np.maximum(0.0, tb.p.target - tb.level)
    return tb.points[:, :2], tb.weight


def mission_problem(mission, iterations: int) -> Problem:
    """A CAO mission without flight: every drone starts at its pad at take-off altitude, clipped
    into its decision box; the objective's base parameters (no mid-mission changes)."""
    world, drones = mission.world, mission.fleet.drones
    roles = [d.role for d in drones]
    rp = [mission.roles[r].params for r in roles]
    if any(mission.roles[r].controller != "cao" for r in roles):
        raise ValueError(f"mission {mission.name}: every drone needs a cao role for this benchmark")
    dims = {p.dims for p in rp}
    if len(dims) != 1:
        raise ValueError(f"mission {mission.name}: roles mix 2-D and 3-D decisions")
    d = dims.pop()
    boxes, x0 = [], []
    for drone, p in zip(drones, rp):
        ctl = CAOController(p, [drone.vehicle], np.array([drone.start]))
        lo, hi = ctl._box()
        pad = np.r_[drone.start[:2], mission.phases.takeoff_altitude][:d]
        boxes.append((lo, hi))
        x0.append(np.clip(pad, lo, hi))
    radius = np.array([d_.vehicle.body_radius for d_ in drones])
    sep = np.array([p.separation for p in rp])
    need = radius[:, None] + radius[None, :] + sep[:, None]
    params = [p.optimiser(world) for p in rp]
    spec = mission.services["objective"].config

    def make():
        tb = spec.build(world)
        tb.team(roles)
        return tb

    out = Problem(mission.name, make, np.array(x0), params, np.array([b[0] for b in boxes]),
                  np.array([b[1] for b in boxes]), iterations, need=need, world=world,
                  clearance=radius + np.array([p.obstacle_margin for p in rp]),
                  altitude=np.array([p.altitude[0] for p in rp]), roles=roles, points=_mission_points)
    if not out.configs_ok(out.x0[None])[0]:
        raise ValueError(f"mission {mission.name}: the drones' take-off points break its constraints")
    return out
