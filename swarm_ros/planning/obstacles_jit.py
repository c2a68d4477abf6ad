"""Compiled (numba) twins of ObstacleSet's exact point and segment tests, one item at a time.

The numpy tests in obstacles.py pay a dozen array calls per batch, which dominates when the
GMT* march checks a few dozen edges per iteration. These follow them operation by operation
(the same pieces of a segment, the same grid cells, the same IEEE operations in the same order
per obstacle), so every answer is the same boolean; only the order in which candidate obstacles
are tried differs, and an OR does not care. test/test_gmt_jit.py checks both against each other.
`Shapes` carries the arrays a kernel needs; the march kernel (gmt_jit.py) calls `segment_hit`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

OPTIONS = dict(error_model="numpy")     # float division by zero gives inf/nan as in numpy


class Shapes(NamedTuple):
    """An ObstacleSet as plain arrays (grid arrays empty and cell = 0 when it has no grid)."""
    box_lo: np.ndarray
    box_hi: np.ndarray
    cyl_c: np.ndarray
    cyl_r: np.ndarray
    cyl_z: np.ndarray
    lo: np.ndarray
    cell: float
    shape: np.ndarray
    grid_ptr: np.ndarray
    grid_obs: np.ndarray


def usable(obstacles) -> bool:
    """The compiled tests apply: host arrays (numpy backend) and numba installed."""
    return obstacles.be.name == "numpy" and numba_available()


def shapes(obstacles) -> Shapes:
    """The kernels' arguments; C-contiguous float64 / intp always, so each kernel has one signature."""
    o = obstacles
    grid = o.cell is not None
    f, i = (lambda a: np.ascontiguousarray(a, np.float64)), (lambda a: np.ascontiguousarray(a, np.intp))
    empty = np.zeros(0, np.intp)
    return Shapes(f(o.box_lo), f(o.box_hi), f(o.cyl_c), f(o.cyl_r), f(o.cyl_z), f(o.lo), float(o.cell) if grid else 0.0,
                  i(o.shape) if grid else empty, i(o._grid_ptr) if grid else empty, i(o._grid_obs) if grid else empty)


def _slab(p, d, lo, hi):
    """Parameter interval of p + t d inside [lo, hi] on one axis (empty: near > far)."""
    if d == 0:
        return (-np.inf, np.inf) if p >= lo and p <= hi else (np.inf, -np.inf)
    ta, tb = (lo - p) / d, (hi - p) / d
    return min(ta, tb), max(ta, tb)


def _box_segment(w, o, box_lo, box_hi):
    """obstacles._slab and the box rule of ObstacleSet._exact for the segment w[0] -> w[0] + w[1]."""
    near_max, far_min = -np.inf, np.inf
    for k in range(w.shape[1]):
        near, far = _slab(w[0, k], w[1, k], box_lo[o, k], box_hi[o, k])
        near_max, far_min = max(near_max, near), min(far_min, far)
        if max(near_max, 0.0) > min(far_min, 1.0):    # can only grow apart: a miss already
            return False
    return True


def _cylinder_segment(w, j, cyl_c, cyl_r, cyl_z):
    """obstacles._segment_cylinder for the segment w[0] -> w[0] + w[1]."""
    q0, q1, v0, v1 = w[0, 0] - cyl_c[j, 0], w[0, 1] - cyl_c[j, 1], w[1, 0], w[1, 1]
    r = cyl_r[j]
    qa = v0 * v0 + v1 * v1
    qb = 2 * (q0 * v0 + q1 * v1)
    qc = (q0 * q0 + q1 * q1) - r * r
    disc = qb * qb - 4 * qa * qc
    if qa == 0:
        ta, tb = (-np.inf, np.inf) if qc <= 0 else (np.inf, -np.inf)
    elif disc < 0:
        ta, tb = np.inf, -np.inf
    else:
        root = math.sqrt(max(disc, 0.0))
        ta, tb = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
    za, zb = _slab(w[0, 2], w[1, 2], cyl_z[j, 0], cyl_z[j, 1])
    return max(max(ta, za), 0.0) <= min(min(tb, zb), 1.0)


def _obstacle_segment(w, o, box_lo, box_hi, cyl_c, cyl_r, cyl_z):
    nb = len(box_lo)
    if o < nb:
        return _box_segment(w, o, box_lo, box_hi)
    return _cylinder_segment(w, o - nb, cyl_c, cyl_r, cyl_z)


def _cell_of(x, lo, cell, size):
    c = int(math.floor((x - lo) / cell))
    return min(max(c, 0), size - 1)


def _segment_hit_impl(a, ia, b, ib, w, c, seen, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr,
                      grid_obs):
    """ObstacleSet.segments_hit for the one segment a[ia] -> b[ib].

    w (3, d) and c (2, d) are scratch rows: no allocation per segment. The segment or piece under
    test is w[0] -> w[0] + w[1]; w[2] holds b - a. seen (m + 1 ints, last = a running piece
    number) skips an obstacle already tested against this piece from another of its cells.
    """
    dim = a.shape[1]
    m = len(box_lo) + len(cyl_r)
    if m == 0:
        return False
    for k in range(dim):
        w[0, k], w[1, k] = a[ia, k], b[ib, k] - a[ia, k]
    if cell == 0.0:                                   # no grid: the whole segment, every obstacle
        for o in range(m):
            if _obstacle_segment(w, o, box_lo, box_hi, cyl_c, cyl_r, cyl_z):
                return True
        return False
    sq = 0.0
    for k in range(dim):
        w[2, k] = w[1, k]
        sq += w[2, k] * w[2, k]
    pieces = max(int(math.ceil(math.sqrt(sq) / cell)), 1)
    for k in range(dim):
        w[1, k] = w[2, k] / pieces
    for q in range(pieces):
        seen[m] += 1
        for k in range(dim):
            w[0, k] = a[ia, k] + q * w[1, k]
            pb = w[0, k] + w[1, k]
            c[0, k] = _cell_of(min(w[0, k], pb), lo[k], cell, shape[k])
            c[1, k] = _cell_of(max(w[0, k], pb), lo[k], cell, shape[k])
        for bits in range(1 << dim):
            flat, ok = 0, True
            for k in range(dim):
                up = (bits >> k) & 1
                if up and c[1, k] <= c[0, k]:
                    ok = False
                flat = flat * shape[k] + (c[1, k] if up else c[0, k])
            if not ok:
                continue
            for e in range(grid_ptr[flat], grid_ptr[flat + 1]):
                o = grid_obs[e]
                if seen[o] == seen[m]:
                    continue
                seen[o] = seen[m]
                if _obstacle_segment(w, o, box_lo, box_hi, cyl_c, cyl_r, cyl_z):
                    return True
    return False


def _point_in_impl(pts, i, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr, grid_obs):
    """ObstacleSet.points_in for the point pts[i]."""
    m, nb, dim = len(box_lo) + len(cyl_r), len(box_lo), pts.shape[1]
    first, last = 0, m
    if cell != 0.0:
        flat = 0
        for k in range(dim):
            flat = flat * shape[k] + _cell_of(pts[i, k], lo[k], cell, shape[k])
        first, last = grid_ptr[flat], grid_ptr[flat + 1]
    for e in range(first, last):
        o = grid_obs[e] if cell != 0.0 else e
        if o < nb:
            inside = True
            for k in range(dim):
                if not (pts[i, k] >= box_lo[o, k] and pts[i, k] <= box_hi[o, k]):
                    inside = False
            if inside:
                return True
        else:
            j = o - nb
            r0, r1 = pts[i, 0] - cyl_c[j, 0], pts[i, 1] - cyl_c[j, 1]
            if r0 * r0 + r1 * r1 <= cyl_r[j] * cyl_r[j] and pts[i, 2] >= cyl_z[j, 0] and pts[i, 2] <= cyl_z[j, 1]:
                return True
    return False


def _points_in_impl(pts, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr, grid_obs):
    out = np.zeros(len(pts), np.bool_)
    for i in range(len(pts)):
        out[i] = point_in(pts, i, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr, grid_obs)
    return out


def _segments_hit_impl(a, b, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape, grid_ptr, grid_obs):
    out = np.zeros(len(a), np.bool_)
    w, c = np.empty((3, a.shape[1])), np.empty((2, a.shape[1]), np.intp)
    seen = np.zeros(len(box_lo) + len(cyl_r) + 1, np.intp)
    for i in range(len(a)):
        out[i] = segment_hit(a, i, b, i, w, c, seen, box_lo, box_hi, cyl_c, cyl_r, cyl_z, lo, cell, shape,
                             grid_ptr, grid_obs)
    return out


INLINE = dict(OPTIONS, inline="always")
_slab = jit(_slab, **INLINE)
_box_segment = jit(_box_segment, **INLINE)
_cylinder_segment = jit(_cylinder_segment, **INLINE)
_obstacle_segment = jit(_obstacle_segment, **INLINE)
_cell_of = jit(_cell_of, **INLINE)
segment_hit = jit(_segment_hit_impl, **INLINE)
point_in = jit(_point_in_impl, **INLINE)
_points_in = jit(_points_in_impl, **OPTIONS)
_segments_hit = jit(_segments_hit_impl, **OPTIONS)


def points_in(obstacles, p: np.ndarray) -> np.ndarray:
    return _points_in(np.ascontiguousarray(p, float), *shapes(obstacles))


def segments_hit(obstacles, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _segments_hit(np.ascontiguousarray(a, float), np.ascontiguousarray(b, float), *shapes(obstacles))
