"""Compiled (numba) nearest-neighbour distances and close pairs for the run metrics.

A KD-tree built, queried and searched for pairs at every control tick costs more than the
rest of the metrics together at a thousand drones. One cell list (side `cell`) answers both:
a drone's nearest neighbour within `cell` is found among the 27 cells around it (exact, as
any drone that close lies in them), and the few drones with none that close are left to the
caller (NaN). Pairs are every i < j closer than or at `reach` (<= cell).
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

MIN_DRONES = 64
MAX_CELLS_PER_DRONE = 8


def nearest_and_pairs(p: np.ndarray, cell: float, reach: float):
    """(nearest-neighbour distance (N,), NaN beyond `cell`; pairs (M, 2) with i < j within
    `reach`) or None where the grid would be too sparse."""
    lo = p.min(axis=0)
    dims = np.floor((p.max(axis=0) - lo) / cell).astype(np.int64) + 1
    if dims.prod() > MAX_CELLS_PER_DRONE * len(p) + 64:
        return None
    c = np.floor((p - lo) / cell).astype(np.int64)
    cid = (c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2]
    order = np.argsort(cid, kind="stable")
    start = np.searchsorted(cid[order], np.arange(dims.prod() + 1))
    return _scan(np.ascontiguousarray(p, float), c, dims, order, start, float(cell), float(reach))


def _scan_impl(p, c, dims, order, start, cell, reach):
    n = len(p)
    nearest = np.full(n, np.nan)
    pi = np.empty(64, np.int64)
    pj = np.empty(64, np.int64)
    m = 0
    for i in range(n):
        best = np.inf
        for dx in range(-1, 2):
            x = c[i, 0] + dx
            if x < 0 or x >= dims[0]:
                continue
            for dy in range(-1, 2):
                y = c[i, 1] + dy
                if y < 0 or y >= dims[1]:
                    continue
                for dz in range(-1, 2):
                    z = c[i, 2] + dz
                    if z < 0 or z >= dims[2]:
                        continue
                    cid = (x * dims[1] + y) * dims[2] + z
                    for q in range(start[cid], start[cid + 1]):
                        j = order[q]
                        if j == i:
                            continue
                        ex, ey, ez = p[i, 0] - p[j, 0], p[i, 1] - p[j, 1], p[i, 2] - p[j, 2]
                        d = np.sqrt(ex * ex + ey * ey + ez * ez)
                        if d < best:
                            best = d
                        if j > i and d <= reach:
                            if m == len(pi):
                                pi2, pj2 = np.empty(2 * m, np.int64), np.empty(2 * m, np.int64)
                                pi2[:m], pj2[:m] = pi, pj
                                pi, pj = pi2, pj2
                            pi[m], pj[m] = i, j
                            m += 1
        if best <= cell:
            nearest[i] = best
    pairs = np.empty((m, 2), np.int64)
    pairs[:, 0], pairs[:, 1] = pi[:m], pj[:m]
    return nearest, pairs


_scan = jit(_scan_impl) if numba_available() else None
