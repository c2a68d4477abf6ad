"""Kinodynamic GMT*: 6-D double-integrator states, time-plus-effort cost, cubic edges.

Offline (cached per bounds, limits, n, seed): states (position in the bounds, velocity within
the vehicle's horizontal speed and climb/descent limits), the percentile radius rule of the
authors' code (r = the 5 % quantile of optimal costs over random state pairs), directed
neighbour lists (cost < r) with each edge's optimal time, and every edge whose cubic breaks a
velocity or acceleration limit dropped, so any path through the roadmap respects the limits.
Pairs are pruned before solving with bounds that follow from the cost: c >= tau + |dv|^2 / tau
gives |dv| < r / 2 and c >= tau + 3 |dp - v tau|^2 / tau^3 gives |dp| < r |v| + r^2 / sqrt(3).

Online: an edge is checked as a chain of straight chords between `segments + 1` points of its
cubic; a chord strays from the curve by at most a_max h^2 / 8 (h the time step), so obstacles
are grown by that much (`chord_tol`) on top of the vehicle's inflation.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree

from . import double_integrator as di
from .backend import Backend, get_backend
from .gmt import PlanResult, solve
from .obstacles import ObstacleSet
from .roadmap import Graph, csr_append, csr_from_pairs, draw_samples

CHORD_TOL = 0.02          # m, bound on chord-to-curve deviation in the edge checks
QUANTILE = 0.05           # radius: this quantile of optimal costs over random state pairs
RADIUS_PAIRS = 20000
TRAJECTORY_DT = 0.05      # s, sampling of returned trajectories


@dataclass(frozen=True)
class KinoRoadmap:
    graph: Graph                  # points: (n, 6) states; in_data: cost, tau
    lo: np.ndarray
    hi: np.ndarray
    limits: di.Limits
    radius: float
    radius_rule: str
    segments: int                 # chords per edge in collision checks
    chord_tol: float
    seed: int
    tree: cKDTree = field(repr=False)       # over positions
    speed_bound: float = 0.0


def sample_states(n: int, lo, hi, lim: di.Limits, seed: int) -> np.ndarray:
    """n states with positions in [lo, hi] and velocities inside the vehicle's limits."""
    vlo = [-lim.max_speed, -lim.max_speed, -lim.max_descent]
    vhi = [lim.max_speed, lim.max_speed, lim.max_climb]
    draw = draw_samples(2 * n + 16, [*lo, *vlo], [*hi, *vhi], seed)   # 78.5 % pass the disc test
    keep = (draw[:, 3:5] ** 2).sum(1) <= lim.max_speed ** 2
    if keep.sum() < n:
        raise RuntimeError("too few velocity samples inside the limits")
    return draw[keep][:n]


def edges_between(x0: np.ndarray, x1: np.ndarray, r: float, lim: di.Limits):
    """Which candidate pairs become edges (cost < r, within limits), with their tau and cost."""
    dv = np.linalg.norm(x1[:, 3:] - x0[:, 3:], axis=1)
    dp = np.linalg.norm(x1[:, :3] - x0[:, :3], axis=1)
    vmin = np.minimum(np.linalg.norm(x0[:, 3:], axis=1), np.linalg.norm(x1[:, 3:], axis=1))
    # An edge within the limits lasts at least t_lb; c >= tau + |dv|^2 / tau, increasing for tau >= |dv|.
    t_lb = np.maximum(np.maximum(dp / speed_bound(lim), dv / lim.max_accel), dv)
    with np.errstate(divide="ignore", invalid="ignore"):
        c_lb = np.where(t_lb > 0, t_lb + dv * dv / t_lb, 0.0)
    idx = np.flatnonzero((c_lb < r) & (dp < r * vmin + r * r / math.sqrt(3)))
    tau, cost = di.optimal(x0[idx], x1[idx])
    good = (cost < r) & (tau > 0)
    idx, tau, cost = idx[good], tau[good], cost[good]
    ok = di.within_limits(x0[idx], x1[idx], tau, lim)
    return idx[ok], tau[ok], cost[ok]


def speed_bound(lim: di.Limits) -> float:
    """Largest speed (norm) a trajectory within the limits can have."""
    return math.hypot(lim.max_speed, max(lim.max_climb, lim.max_descent))


@lru_cache(maxsize=8)
def _build(lo: tuple, hi: tuple, lim: di.Limits, n: int, seed: int) -> KinoRoadmap:
    x = sample_states(n, lo, hi, lim, seed)
    rng = np.random.default_rng(seed + 1)
    i, j = rng.integers(0, n, RADIUS_PAIRS), rng.integers(0, n, RADIUS_PAIRS)
    i, j = i[i != j], j[i != j]
    r = float(np.quantile(di.optimal(x[i], x[j])[1], QUANTILE))
    vb = speed_bound(lim)
    tree = cKDTree(x[:, :3])
    pairs = tree.query_pairs(r * vb, output_type="ndarray")     # |dp| <= speed bound * tau < vb r
    src, dst = np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]]
    keep, tau, cost = [], [], []
    for s in range(0, len(src), 200_000):               # chunks bound the eigenvalue arrays
        k, t, c = edges_between(x[src[s:s + 200_000]], x[dst[s:s + 200_000]], r, lim)
        keep.append(k + s), tau.append(t), cost.append(c)
    keep, tau, cost = np.concatenate(keep), np.concatenate(tau), np.concatenate(cost)
    src, dst = src[keep], dst[keep]
    out_ptr, out_idx = csr_from_pairs(n, src, dst)
    in_ptr, in_idx, c_in, t_in = csr_from_pairs(n, dst, src, cost, tau)
    tmax = float(tau.max()) if len(tau) else 1.0
    segments = max(1, math.ceil(tmax * math.sqrt(lim.max_accel / (8 * CHORD_TOL))))
    tol = lim.max_accel * (tmax / segments) ** 2 / 8
    g = Graph(x, out_ptr, out_idx, in_ptr, in_idx, {"cost": c_in, "tau": t_in})
    rule = f"{QUANTILE:g} quantile of optimal costs over {len(i)} random state pairs"
    return KinoRoadmap(g, np.array(lo), np.array(hi), lim, r, rule, segments, tol, seed, tree, vb)


def kinodynamic_roadmap(lo, hi, limits: di.Limits, n: int, seed: int = 0) -> KinoRoadmap:
    """The cached obstacle-free double-integrator roadmap of n states over the box [lo, hi]."""
    return _build(tuple(map(float, lo)), tuple(map(float, hi)), limits, int(n), int(seed))


def with_endpoints(rm: KinoRoadmap, start, goal) -> Graph:
    """Roadmap plus start (n) and goal (n + 1) states: edges out of the start, into the goal."""
    g, n, r = rm.graph, rm.graph.n, rm.radius
    ends = np.array([start, goal], float)
    near = rm.tree.query_ball_point(ends[:, :3], r * rm.speed_bound)
    a = np.r_[np.full(len(near[0]), n), near[1], n].astype(np.intp)
    b = np.r_[near[0], np.full(len(near[1]), n + 1), n + 1].astype(np.intp)
    pts = np.r_[g.points, ends]
    k, tau, cost = edges_between(pts[a], pts[b], r, rm.limits)
    a, b = a[k], b[k]
    out_ptr, out_idx, _ = csr_append(g.out_ptr, g.out_idx, {}, n + 2, a, b, {})
    in_ptr, in_idx, data = csr_append(g.in_ptr, g.in_idx, g.in_data, n + 2, b, a, {"cost": cost, "tau": tau})
    return Graph(pts, out_ptr, out_idx, in_ptr, in_idx, data)


def plan_kinodynamic(rm: KinoRoadmap, obstacles: ObstacleSet, start, goal, lam: float = 1.0,
                     backend: Backend | str | None = None) -> PlanResult:
    """GMT* from state start to state goal (6 numbers each; velocities usually 0).

    `obstacles` carry the vehicle's inflation; the chord tolerance is added here. The result's
    `trajectory` holds times and sampled positions, velocities and accelerations of the cubics.
    """
    be = backend if isinstance(backend, Backend) else get_backend(backend)
    t0 = time.perf_counter()
    grown = obstacles.grown(rm.chord_tol)
    graph = with_endpoints(rm, start, goal)
    xs = be.asarray(graph.points)
    tau = be.asarray(graph.in_data["tau"])
    frac = be.asarray(np.linspace(0.0, 1.0, rm.segments + 1))
    lo, hi = be.asarray(rm.lo), be.asarray(rm.hi)

    def edge_free(par, child, pos):
        p = di.states(xs[par], xs[child], tau[pos], frac)[0]           # (m, K + 1, 3)
        inside = ((p >= lo) & (p <= hi)).all(axis=2).all(axis=1)
        a, b = p[:, :-1].reshape(-1, 3), p[:, 1:].reshape(-1, 3)
        hit = grown.segments_hit(a, b).reshape(len(par), rm.segments).any(axis=1)
        return inside & ~hit

    result, tree = solve(graph, xs[:, :3], lam, rm.radius, grown, edge_free, be, t0)
    if result.found:
        result.trajectory = trajectory(graph, result.nodes, tree.edge[result.nodes[1:]])
    return result


def trajectory(graph: Graph, nodes: np.ndarray, entries: np.ndarray, dt: float = TRAJECTORY_DT) -> dict:
    """Times and sampled states along the path's cubics (every edge's ends included)."""
    x, tau = graph.points, graph.in_data["tau"][entries]
    ts, ps, vs, acc = [], [], [], []
    t = 0.0
    for k, T in enumerate(tau):
        s = np.linspace(0, 1, max(2, math.ceil(T / dt) + 1))[(1 if k else 0):]
        p, v, a = di.states(x[nodes[k:k + 1]], x[nodes[k + 1:k + 2]], np.array([T]), s)
        ts.append(t + T * s), ps.append(p[0]), vs.append(v[0]), acc.append(a[0])
        t += T
    return {"t": np.concatenate(ts), "position": np.concatenate(ps), "velocity": np.concatenate(vs),
            "acceleration": np.concatenate(acc)}


def limit_report(traj: dict, lim: di.Limits) -> dict:
    """Peak horizontal speed, climb, descent and acceleration of a trajectory vs the limits."""
    v, a = traj["velocity"], traj["acceleration"]
    peak = {"speed": float(np.hypot(v[:, 0], v[:, 1]).max()), "climb": float(max(v[:, 2].max(), 0.0)),
            "descent": float(max(-v[:, 2].min(), 0.0)), "accel": float(np.linalg.norm(a, axis=1).max())}
    allowed = {"speed": lim.max_speed, "climb": lim.max_climb, "descent": lim.max_descent,
               "accel": lim.max_accel}
    return {"peak": peak, "limit": allowed, "within": all(peak[k] <= allowed[k] + 1e-9 for k in peak)}
