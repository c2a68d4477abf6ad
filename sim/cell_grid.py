"""One cell list for the compiled neighbour searches (run metrics, radio links).

Drones are binned into cubic cells of side `cell` and sorted by cell, so the drones of cell k
are order[start[k]:start[k + 1]], and any drone within `cell` of another lies in the 27 cells
around that one's own. A sparse grid (drones far apart, most cells empty) is refused: the
caller then uses its KD-tree path.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit
from swarm_ros.core.verlet import grow

MAX_CELLS_PER_DRONE = 8


def build(p: np.ndarray, cell: float):
    """(cell of each drone (N, 3), grid dims (3,), order (N,), start (cells + 1,)), or None
    where `cell` is not positive or the grid would be too sparse."""
    if not cell > 0:
        return None
    ok, c, dims, order, start = _build(np.ascontiguousarray(p, float), float(cell))
    return (c, dims, order, start) if ok else None


def _extent_impl(p, cell):
    """(ok, lower corner, dims) of the grid of side `cell` over p; ok False where it would be too
    sparse or a position is not finite (numpy's min, max and floor over the columns cost more
    than this loop at a thousand drones)."""
    n = len(p)
    lo, hi = np.empty(3), np.empty(3)
    dims = np.ones(3, np.int64)
    if n == 0:
        return False, lo, dims
    for k in range(3):
        lo[k], hi[k] = p[0, k], p[0, k]
    for i in range(n):
        for k in range(3):
            x = p[i, k]
            if not np.isfinite(x):
                return False, lo, dims
            lo[k] = min(lo[k], x)
            hi[k] = max(hi[k], x)
    for k in range(3):
        dims[k] = np.int64(np.floor((hi[k] - lo[k]) / cell)) + 1
    if dims[0] * dims[1] * dims[2] > MAX_CELLS_PER_DRONE * n + 64:
        return False, lo, dims
    return True, lo, dims


def _build_impl(p, cell):
    """build's work in one compiled pass: (ok, c, dims, order, start), ok as _extent's."""
    n = len(p)
    c = np.empty((n, 3), np.int64)
    ok, lo, dims = extent(p, cell)
    if not ok:
        return False, c, dims, np.empty(0, np.int64), np.zeros(1, np.int64)
    cid = np.empty(n, np.int64)
    for i in range(n):
        for k in range(3):
            c[i, k] = np.int64(np.floor((p[i, k] - lo[k]) / cell))
        cid[i] = (c[i, 0] * dims[1] + c[i, 1]) * dims[2] + c[i, 2]
    order, start = _by_cell(cid, dims[0] * dims[1] * dims[2])
    return True, c, dims, order, start


def _append_impl(li, lj, m, i, j):
    """li, lj with (i, j) written at m: doubled first when full."""
    if m == len(li):
        li, lj = grow(li, 2 * m), grow(lj, 2 * m)
    li[m], lj[m] = i, j
    return li, lj


def _by_cell_impl(cid, cells):
    """Drones sorted by cell, ties by index (a stable counting sort: what a stable argsort of
    `cid` gives), and where each cell's run starts."""
    start = np.zeros(cells + 1, np.int64)
    for i in range(len(cid)):
        start[cid[i] + 1] += 1
    for k in range(cells):
        start[k + 1] += start[k]
    at = start[:-1].copy()
    order = np.empty(len(cid), np.int64)
    for i in range(len(cid)):
        order[at[cid[i]]] = i
        at[cid[i]] += 1
    return order, start


def _around_impl(ci, dims, out):
    """Write into `out` (27,) the ids of the cells around cell `ci` that lie in the grid, in
    increasing order, and return how many there are."""
    n = 0
    for dx in range(-1, 2):
        x = ci[0] + dx
        if x < 0 or x >= dims[0]:
            continue
        for dy in range(-1, 2):
            y = ci[1] + dy
            if y < 0 or y >= dims[1]:
                continue
            for dz in range(-1, 2):
                z = ci[2] + dz
                if z < 0 or z >= dims[2]:
                    continue
                out[n] = (x * dims[1] + y) * dims[2] + z
                n += 1
    return n


around = jit(_around_impl)
_by_cell = jit(_by_cell_impl)
extent = jit(_extent_impl)
append = jit(_append_impl, inline="always")
_build = jit(_build_impl)


def _pairs_within_impl(p, wide):
    """(ok, i, j): every pair of drones closer than or at `wide` (with room for rounding), each
    once, from a cell list of side `wide` (ok False where it would be too sparse): the pair
    lists (Verlet lists) of the metrics and the radio."""
    ok, c, dims, order, start = _build(p, wide)
    li = np.empty(64, np.int64)
    lj = np.empty(64, np.int64)
    if not ok:
        return False, li[:0], lj[:0]
    n = len(p)
    cells = np.empty(27, np.int64)
    wide2 = wide * wide * (1.0 + 1e-9)
    m = 0
    for i in range(n):
        own = (c[i, 0] * dims[1] + c[i, 1]) * dims[2] + c[i, 2]
        for a in range(around(c[i], dims, cells)):
            cc = cells[a]
            if cc < own:
                continue
            for q in range(start[cc], start[cc + 1]):
                j = order[q]
                if cc == own and j <= i:
                    continue
                ex, ey, ez = p[i, 0] - p[j, 0], p[i, 1] - p[j, 1], p[i, 2] - p[j, 2]
                if ex * ex + ey * ey + ez * ez <= wide2:
                    li, lj = append(li, lj, m, i, j)
                    m += 1
    return True, li[:m], lj[:m]


pairs_within = jit(_pairs_within_impl)
