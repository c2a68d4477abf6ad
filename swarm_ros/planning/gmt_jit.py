"""Compiled (numba) twin of the GMT* march for the geometric planner on the numpy backend.

gmt.march spends its time in a dozen small array calls per iteration (gathers, `unique`, a
segmented min, a batched segment test) over a few dozen nodes each; per-call overhead, not
arithmetic, is what it costs. This kernel runs the same iteration node by node with the exact
segment test of obstacles_jit.py. Same rule, same arithmetic (cost[y] + edge cost, the first
in-list entry among equal minima, parents = the open set as it was at the start of the
iteration), so the tree is the same bit for bit: test/test_gmt_jit.py compares every array.
gmt.march stays the reference, the fallback without numba, and the CuPy path.
"""
from __future__ import annotations

import math

import numpy as np

from swarm_ros.core.compiled import jit

from . import obstacles_jit
from .obstacles_jit import OPTIONS, segment_hit

UNEXPLORED, OPEN, CLOSED, INVALID, LISTED = 0, 1, 2, 3, 4     # LISTED: unexplored, in this iteration's list


def _march_impl(ptr, idx, in_cost, valid, start, goal, delta, limit, pts,
                box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr, grid_obs):
    """The wavefront on one symmetric CSR graph; returns cost, parent, edge, found, iterations, checks."""
    n = len(valid)
    status = np.empty(n, np.int8)
    for x in range(n):
        status[x] = UNEXPLORED if valid[x] else INVALID
    cost = np.full(n, np.inf)
    parent = np.full(n, -1, np.intp)
    edge = np.full(n, -1, np.intp)
    cost[start], status[start] = 0.0, OPEN
    open_cost = np.full(n, np.inf)           # cost of open nodes, inf elsewhere: a branch-free parent pick
    open_cost[start] = 0.0
    open_, rest, group = np.empty(n, np.intp), np.empty(n, np.intp), np.empty(n, np.intp)
    new, first = np.empty(n, np.intp), np.empty(n, np.intp)
    best = np.empty(n)
    w, c = np.empty((3, pts.shape[1])), np.empty((2, pts.shape[1]), np.intp)    # segment_hit's scratch
    seen = np.zeros(len(box_lo) + len(cyl_r) + 1, np.intp)
    open_[0], n_open = start, 1
    i = iterations = checks = 0
    found = False
    while n_open > 0 and iterations < limit:
        bar = i * delta
        n_group = n_rest = 0
        low = np.inf
        for k in range(n_open):
            x = open_[k]
            low = min(low, cost[x])
            if cost[x] <= bar:
                group[n_group] = x
                n_group += 1
            else:
                rest[n_rest] = x
                n_rest += 1
        if n_group == 0:                     # empty bucket(s): jump to the first non-empty one
            i = max(i + 1, int(math.ceil(low / delta)))
            continue
        iterations += 1
        if status[goal] == OPEN and cost[goal] <= bar:
            found = True
            break
        n_new = 0                            # unexplored neighbours of the group, each once
        for k in range(n_group):
            x = group[k]
            for e in range(ptr[x], ptr[x + 1]):
                y = idx[e]
                if status[y] == UNEXPLORED:
                    status[y] = LISTED
                    new[n_new] = y
                    n_new += 1
        for k in range(n_new):               # cheapest open parent, before anything changes
            x = new[k]
            status[x] = UNEXPLORED
            b, f = np.inf, -1
            for e in range(ptr[x], ptr[x + 1]):
                v = open_cost[idx[e]] + in_cost[e]
                if v < b:
                    b, f = v, e
            best[k], first[k] = b, (f if f >= 0 else ptr[x])
        checks += n_new
        for k in range(n_new):
            x, f = new[k], first[k]
            if not segment_hit(pts, idx[f], pts, x, w, c, seen, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape,
                               grid_ptr, grid_obs):
                cost[x], parent[x], edge[x], status[x] = best[k], idx[f], f, OPEN
                open_cost[x] = best[k]
                rest[n_rest] = x
                n_rest += 1
        for k in range(n_group):
            status[group[k]] = CLOSED
            open_cost[group[k]] = np.inf
        open_, rest = rest, open_
        n_open = n_rest
        i += 1
    if not found and status[goal] == OPEN:   # reached, but the loop hit its iteration cap
        found = True
    return cost, parent, edge, found, iterations, checks


_march = jit(_march_impl, **OPTIONS)


def usable(graph, obstacles, lam: float) -> bool:
    """The compiled march applies: host arrays, numba, one CSR for both directions, lambda > 0."""
    return (obstacles_jit.usable(obstacles) and lam > 0 and graph.out_ptr is graph.in_ptr
            and graph.out_idx is graph.in_idx)


def march(graph, start: int, goal: int, valid, lam: float, radius: float, obstacles, pts,
          max_iterations: int | None = None):
    """gmt.march with the geometric edge check (segments between node coordinates `pts`)."""
    from .gmt import Tree
    limit = max_iterations or 50 * graph.n + 1000
    i, f = (lambda a: np.ascontiguousarray(a, np.intp)), (lambda a: np.ascontiguousarray(a, np.float64))
    cost, parent, edge, found, iterations, checks = _march(
        i(graph.in_ptr), i(graph.in_idx), f(graph.in_data["cost"]), np.ascontiguousarray(valid, np.bool_),
        int(start), int(goal), float(lam * radius), int(limit), f(pts), *obstacles_jit.shapes(obstacles))
    return Tree(bool(found), cost, parent, edge, int(iterations), int(checks))


def warm_up() -> None:
    """Compile every planning kernel now (or load it from numba's disk cache) on a toy problem.

    A fresh install compiles them on first use (about 10 s on a slow 2-core machine; then
    cached on disk, about 0.3 s to load in a new process): a long-lived planner calls this at
    start so that no request pays it.
    """
    if not obstacles_jit.numba_available():
        return
    from .gmt import plan
    from .obstacles import ObstacleSet
    from .roadmap import _geometric
    rm = _geometric.__wrapped__((0.0,) * 3, (1.0,) * 3, 64, 0, "halton", None)       # not kept in the cache
    obs = ObstacleSet([0, 0, 0], [1, 1, 1], [[0.4, 0.4, 0.4]], [[0.6, 0.6, 0.6]])
    plan(rm, obs, [0.1] * 3, [0.9] * 3)
    obs.segments_hit(np.zeros((1, 3)), np.ones((1, 3)))
