"""Compiled (numba) nearest-neighbour distances and close pairs for the run metrics.

A KD-tree built, queried and searched for pairs at every control tick costs more than the
rest of the metrics together at a thousand drones. One cell list (side `cell`) answers both:
a drone's nearest neighbour within `cell` is found among the 27 cells around it (exact, as
any drone that close lies in them), and the few drones with none that close are left to the
caller (NaN). Pairs are every i < j closer than or at `reach` (<= cell). Each pair of drones
is looked at once (cells after a drone's own), and distances are compared squared: the root
of the least square is the least root, so the figures are those of a full scan.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available
from swarm_ros.core.verlet import farthest_move

from . import cell_grid

MIN_DRONES = 64


def nearest_and_pairs(p: np.ndarray, cell: float, reach: float):
    """(nearest-neighbour distance (N,), NaN beyond `cell`; pairs (M, 2) with i < j within
    `reach`) or None where the grid would be too sparse."""
    grid = cell_grid.build(p, cell)
    if grid is None:
        return None
    return _scan(np.ascontiguousarray(p, float), *grid, float(cell), float(reach))


def _seen_impl(p, i, j, best, pi, pj, m, reach):
    """One pair of the walk: both drones' least squared distance, and the pair listed (lower
    index first) when within `reach`: (pi, pj, m)."""
    ex, ey, ez = p[i, 0] - p[j, 0], p[i, 1] - p[j, 1], p[i, 2] - p[j, 2]
    d2 = ex * ex + ey * ey + ez * ez
    if d2 < best[i]:
        best[i] = d2
    if d2 < best[j]:
        best[j] = d2
    if d2 <= reach * reach * (1.0 + 1e-9) and np.sqrt(d2) <= reach:
        pi, pj = cell_grid.append(pi, pj, m, min(i, j), max(i, j))
        m += 1
    return pi, pj, m


def _finish_impl(best, cell, pi, pj, m, cid, dims, n):
    """(nearest distance of each drone within `cell`, else NaN; the pairs in the order of a full
    walk: by the lower index, then the other's cell, then its index)."""
    nearest = np.full(n, np.nan)
    for i in range(n):
        d = np.sqrt(best[i])
        if d <= cell:
            nearest[i] = d
    key = np.empty(m, np.int64)
    cells_total = dims[0] * dims[1] * dims[2]
    for k in range(m):
        key[k] = (pi[k] * cells_total + cid[pj[k]]) * n + pj[k]
    rank = np.argsort(key)
    pairs = np.empty((m, 2), np.int64)
    for k in range(m):
        pairs[k, 0], pairs[k, 1] = pi[rank[k]], pj[rank[k]]
    return nearest, pairs


_seen = jit(_seen_impl, inline="always")     # array arguments: no call, no refcounts
_finish = jit(_finish_impl)


def _scan_impl(p, c, dims, order, start, cell, reach):
    n = len(p)
    best = np.full(n, np.inf)          # squared: sqrt is monotonic, so the root of the least square is exact
    cid = np.empty(n, np.int64)
    for i in range(n):
        cid[i] = (c[i, 0] * dims[1] + c[i, 1]) * dims[2] + c[i, 2]
    pi = np.empty(64, np.int64)
    pj = np.empty(64, np.int64)
    cells = np.empty(27, np.int64)
    m = 0
    for i in range(n):
        # each pair once: drones in the cells after i's own, and in its own cell those after it
        own = cid[i]
        for a in range(cell_grid.around(c[i], dims, cells)):
            cc = cells[a]
            if cc < own:
                continue
            for q in range(start[cc], start[cc + 1]):
                j = order[q]
                if cc == own and j <= i:
                    continue
                pi, pj, m = _seen(p, i, j, best, pi, pj, m, reach)
    return _finish(best, cell, pi, pj, m, cid, dims, n)


_scan = jit(_scan_impl) if numba_available() else None


SKIN = 0.5      # m: a pair list keeps the pairs within cell + SKIN


def advance(p: np.ndarray, last: np.ndarray, distance: np.ndarray, moved: bool, cell: float, reach: float,
            fence_min: np.ndarray, fence_max: np.ndarray, held: dict | None = None):
    """One sample's whole compiled pass, so that a tick costs one call: adds each drone's step
    from `last` to `distance` and copies p into `last` (when `moved`), tells who is outside the
    fence and does nearest_and_pairs. (nearest, pairs, outside); nearest and pairs are None
    where the grid would be too sparse. Same arithmetic as SwarmMetrics.update's numpy.

    With `held` (a dict the caller keeps from sample to sample), the cell list is walked only
    now and then: it lists the pairs within cell + SKIN, and the samples after it look at those
    pairs only, while no drone moved SKIN / 2 (a Verlet list). Any pair within `cell` now is
    listed, so the nearest distances and the close pairs (in the order of the cell walk, told
    from this sample's cells) are those of a full walk."""
    p = np.ascontiguousarray(p, float)
    fence_min, fence_max = np.asarray(fence_min, float), np.asarray(fence_max, float)
    if held is None:
        ok, nearest, pairs, outside = _advance(p, last, distance, bool(moved), float(cell), float(reach),
                                               fence_min, fence_max)
        return (nearest, pairs, outside) if ok else (None, None, outside)
    if held.get("cell") != float(cell) or len(held.get("p0", ())) != len(p):
        held.update(cell=float(cell), p0=np.full((len(p), 3), np.inf), i=np.zeros(0, np.int64), j=np.zeros(0, np.int64))
    ok, rebuilt, nearest, pairs, outside, li, lj = _advance_listed(
        p, last, distance, bool(moved), float(cell), float(reach), fence_min, fence_max, held["p0"], held["i"],
        held["j"], SKIN, 0.45 * SKIN)
    if rebuilt:
        held.update(p0=p.copy(), i=li, j=lj)
    return (nearest, pairs, outside) if ok else (None, None, outside)


def _advance_impl(p, last, distance, moved, cell, reach, fence_min, fence_max):
    outside = _fence_and_distance(p, last, distance, moved, fence_min, fence_max)
    ok, c, dims, order, start = cell_grid._build(p, cell)
    if not ok:
        return False, np.empty(0), np.empty((0, 2), np.int64), outside
    nearest, pairs = _scan(p, c, dims, order, start, cell, reach)
    return True, nearest, pairs, outside


_advance = jit(_advance_impl) if numba_available() else None


def _fence_and_distance(p, last, distance, moved, fence_min, fence_max):
    n = len(p)
    outside = np.empty(n, np.bool_)
    for i in range(n):
        if moved:
            ex, ey, ez = p[i, 0] - last[i, 0], p[i, 1] - last[i, 1], p[i, 2] - last[i, 2]
            distance[i] += np.sqrt((ex * ex + ey * ey) + ez * ez)     # np.linalg.norm's order
            last[i, 0], last[i, 1], last[i, 2] = p[i, 0], p[i, 1], p[i, 2]
        inside = True
        for k in range(3):
            inside &= (p[i, k] - fence_min[k] >= 0) & (fence_max[k] - p[i, k] >= 0)
        outside[i] = not inside
    return outside


def _advance_listed_impl(p, last, distance, moved, cell, reach, fence_min, fence_max, p0, li, lj, skin, limit):
    """_advance_impl from a pair list (made anew when a drone moved `limit` since p0):
    (ok, rebuilt, nearest, pairs, outside, list i, list j)."""
    n = len(p)
    outside = _fence_and_distance(p, last, distance, moved, fence_min, fence_max)
    ok, lo, dims = cell_grid.extent(p, cell)
    if not ok:
        return False, False, np.empty(0), np.empty((0, 2), np.int64), outside, li, lj
    rebuilt = not farthest_move(p, p0) <= limit
    if rebuilt:
        listed, li, lj = cell_grid.pairs_within(p, cell + skin)
        if not listed:      # cannot happen (a coarser grid than the one that passed): a full walk
            ok2, nearest, pairs, outside = _advance(p, last, distance, False, cell, reach, fence_min, fence_max)
            return ok2, False, nearest, pairs, outside, li, lj
    best = np.full(n, np.inf)
    pi = np.empty(64, np.int64)
    pj = np.empty(64, np.int64)
    m = 0
    for q in range(len(li)):
        pi, pj, m = _seen(p, li[q], lj[q], best, pi, pj, m, reach)
    cid = np.empty(n, np.int64)          # the cells of the full walk, for its order of the pairs
    for i in range(n):
        for a in range(3):
            c = np.int64(np.floor((p[i, a] - lo[a]) / cell))
            cid[i] = c if a == 0 else cid[i] * dims[a] + c
    nearest, pairs = _finish(best, cell, pi, pj, m, cid, dims, n)
    return True, rebuilt, nearest, pairs, outside, li, lj


if numba_available():
    _fence_and_distance = jit(_fence_and_distance)
    _advance_listed = jit(_advance_listed_impl)
