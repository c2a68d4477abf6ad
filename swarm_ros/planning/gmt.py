"""Online part of GMT* (Ichter, Schmerling, Pavone 2017): group marching over a cached roadmap.

Every iteration expands, at once, the whole group of open nodes whose cost-to-arrive is under a
threshold that rises by delta = lambda * r per iteration (cost buckets of that width; empty
buckets are skipped, which changes nothing since an empty group does nothing). For each
unexplored neighbour x of the group the cheapest parent among x's open in-neighbours is chosen
ignoring obstacles, and only that one edge is collision-checked (lazy). Parents are the open set
as it was at the start of the iteration; nodes connected now become parents next iteration; a
failed connection leaves x unexplored for a later retry. lambda -> 0 gives FMT*.

The loop is data-parallel array code on the chosen backend (numpy or CuPy): CSR gathers, masks,
`unique` for de-duplication, a segmented min for the parent choice. No heap, no per-node Python.
On the numpy backend with numba installed, the geometric planner runs gmt_jit.py's compiled
twin of the same loop instead (same tree bit for bit; a query 4-10x faster).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import gmt_jit
from .backend import Backend, get_backend
from .obstacles import ObstacleSet
from .roadmap import Graph, Roadmap, with_endpoints

UNEXPLORED, OPEN, CLOSED, INVALID = 0, 1, 2, 3


@dataclass
class Tree:
    """What the march leaves behind (host arrays)."""
    found: bool
    cost: np.ndarray
    parent: np.ndarray
    edge: np.ndarray          # in-CSR position of each node's parent edge (-1: none)
    iterations: int
    checks: int               # edges collision-checked (one per new node per iteration)


@dataclass
class PlanResult:
    found: bool
    cost: float
    path: np.ndarray          # (K, d) node coordinates from start to goal ((0, d) if not found)
    nodes: np.ndarray         # node indices along the path (start = n, goal = n + 1 of the roadmap)
    iterations: int
    checks: int
    valid_samples: int
    backend: str
    lam: float
    radius: float
    timing: dict = field(default_factory=dict)   # seconds: graph, mask, march, path, online
    reason: str = ""
    trajectory: dict | None = None               # kinodynamic: t, position, velocity, acceleration


EdgeCheck = Callable[[object, object, object], object]   # (parents, children, in-entry positions) -> free mask


def march(graph: Graph, start: int, goal: int, valid, lam: float, radius: float, edge_free: EdgeCheck,
          be: Backend, max_iterations: int | None = None) -> Tree:
    """The GMT* wavefront on a graph already on the backend (`valid`: nodes outside obstacles)."""
    xp = be.xp
    n = graph.n
    out_ptr, out_idx, in_ptr, in_idx = (be.asarray(a) for a in (graph.out_ptr, graph.out_idx,
                                                                graph.in_ptr, graph.in_idx))
    in_cost = be.asarray(graph.in_data["cost"])
    status = xp.where(valid, UNEXPLORED, INVALID).astype(np.int8)
    cost = xp.full(n, xp.inf)
    parent = xp.full(n, -1, dtype=np.intp)
    edge = xp.full(n, -1, dtype=np.intp)
    cost[start], status[start] = 0.0, OPEN
    open_idx = xp.asarray([start], dtype=np.intp)
    delta = lam * radius
    i = iterations = checks = 0
    found = False
    limit_iter = max_iterations or 50 * n + 1000
    while len(open_idx) and iterations < limit_iter:
        oc = cost[open_idx]
        in_group = oc <= i * delta
        group = open_idx[in_group]
        if len(group) == 0:                 # empty bucket(s): jump to the first non-empty one
            i = max(i + 1, math.ceil(float(oc.min()) / delta))
            continue
        iterations += 1
        if int(status[goal]) == OPEN and float(cost[goal]) <= i * delta:
            found = True
            break
        rest = open_idx[~in_group]
        nb = out_idx[be.gather_rows(out_ptr, group)[0]]
        new = xp.unique(nb[status[nb] == UNEXPLORED])
        if len(new):
            pos, owner, lengths = be.gather_rows(in_ptr, new)
            y = in_idx[pos]
            via = xp.where(status[y] == OPEN, cost[y] + in_cost[pos], xp.inf)
            best = be.segment_min(via, owner, lengths)
            # Ties go to the first in-list entry; every new node has an open in-neighbour.
            first = pos[be.first_per_segment(via == best[owner], owner, len(new))]
            par = in_idx[first]
            ok = edge_free(par, new, first)
            checks += len(new)
            conn = new[ok]
            cost[conn], parent[conn], edge[conn] = best[ok], par[ok], first[ok]
            status[conn] = OPEN
            open_idx = xp.concatenate([rest, conn])
        else:
            open_idx = rest
        status[group] = CLOSED
        i += 1
    if not found and int(status[goal]) == OPEN:   # reached, but the loop hit its iteration cap
        found = True
    return Tree(found, be.to_host(cost), be.to_host(parent), be.to_host(edge), iterations, checks)


def trace(tree: Tree, start: int, goal: int) -> np.ndarray:
    """Node indices from start to goal along the parent pointers."""
    nodes = [goal]
    while nodes[-1] != start:
        nodes.append(int(tree.parent[nodes[-1]]))
    return np.array(nodes[::-1], np.intp)


def solve(graph: Graph, points, lam: float, radius: float, obstacles: ObstacleSet, edge_free: EdgeCheck,
          be: Backend, t0: float, compiled: bool = False) -> tuple[PlanResult, Tree | None]:
    """Mask samples, march from node n - 2 to node n - 1, trace the path; shared by both variants.

    `compiled`: gmt_jit's march with straight segments between `points` as edges (geometric only).
    """
    s, g = graph.n - 2, graph.n - 1
    t1 = time.perf_counter()
    valid = ~obstacles.points_in(points)
    t2 = time.perf_counter()
    d = graph.points.shape[1]
    result = PlanResult(False, math.inf, np.zeros((0, d)), np.zeros(0, np.intp), 0, 0,
                        int(valid[:-2].sum()), be.name, lam, radius)
    tree = None
    if not (bool(valid[s]) and bool(valid[g])):
        result.reason = "start inside an obstacle" if not bool(valid[s]) else "goal inside an obstacle"
    else:
        if compiled:
            tree = gmt_jit.march(graph, s, g, valid, lam, radius, obstacles, points)
        else:
            tree = march(graph, s, g, valid, lam, radius, edge_free, be)
        result.iterations, result.checks = tree.iterations, tree.checks
        if tree.found:
            result.found, result.cost = True, float(tree.cost[g])
            result.nodes = trace(tree, s, g)
            result.path = graph.points[result.nodes]
        else:
            result.reason = "no collision-free path in the roadmap (more samples may help)"
    t3 = time.perf_counter()
    result.timing = {"graph": t1 - t0, "mask": t2 - t1, "march_and_path": t3 - t2, "online": t3 - t0}
    return result, tree


def plan(rm: Roadmap, obstacles: ObstacleSet, start, goal, lam: float = 0.5,
         backend: Backend | str | None = None, compiled: bool | None = None) -> PlanResult:
    """Geometric GMT* from start to goal on the cached roadmap `rm` among `obstacles`.

    `compiled`: None runs gmt_jit's march where it applies (numpy backend, numba installed),
    False always the array march; both give the same tree.
    """
    be = backend if isinstance(backend, Backend) else get_backend(backend)
    if obstacles.be.name != be.name:
        raise ValueError(f"obstacles live on backend {obstacles.be.name!r}, planning on {be.name!r}")
    t0 = time.perf_counter()
    graph = with_endpoints(rm, start, goal)
    pts = be.asarray(graph.points)
    usable = be.name == "numpy" and gmt_jit.usable(graph, obstacles, lam)
    if compiled and not usable:
        raise ValueError("compiled march requested but it needs the numpy backend, numba and lambda > 0")

    def edge_free(par, child, _pos):
        return ~obstacles.segments_hit(pts[par], pts[child])

    return solve(graph, pts, lam, rm.radius, obstacles, edge_free, be, t0,
                 compiled=usable if compiled is None else compiled)[0]
