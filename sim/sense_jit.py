"""Compiled (numba) obstacle sensing for whole swarms: clearance and unit normal per obstacle.

The numpy reference (World.sense through geometry.sdf_and_gradient) evaluates every obstacle's
signed distance at each drone and six probe points around it as (7N, M) temporaries, which at
a thousand drones costs more than the whole safety layer. This loop does the same arithmetic in
the same order point by point (numpy's einsum adds the squares of a contiguous 3-vector as (x + z) + y,
so this does too), so the numbers are equal (test/test_sensing.py checks); it runs
for 64 drones and more when numba is installed.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available
from swarm_ros.core.geometry import GRAD_EPS

MIN_DRONES = 64


def usable(n: int) -> bool:
    return n >= MIN_DRONES and numba_available()


def sense(p, box_c, box_h, cyl_c, cyl_r, cyl_z, present, sensing_range):
    """(clearance (N, M), normal (N, M, 3)) as World.sense computes them."""
    return _sense(np.ascontiguousarray(p, float), box_c, box_h, cyl_c, cyl_r, cyl_z,
                  np.asarray(present, np.bool_), np.asarray(sensing_range, float).reshape(-1), GRAD_EPS)


def _sdf_impl(x, y, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z):
    if o < nb:
        q0 = abs(x - box_c[o, 0]) - box_h[o, 0]
        q1 = abs(y - box_c[o, 1]) - box_h[o, 1]
        q2 = abs(z - box_c[o, 2]) - box_h[o, 2]
        a, b, c = max(q0, 0.0), max(q1, 0.0), max(q2, 0.0)
        return np.sqrt((a * a + c * c) + b * b) + min(max(max(q0, q1), q2), 0.0)
    k = o - nb
    dx, dy = x - cyl_c[k, 0], y - cyl_c[k, 1]
    dr = np.sqrt(dx * dx + dy * dy) - cyl_r[k]
    z0, z1 = cyl_z[k, 0], cyl_z[k, 1]
    dz = abs(z - 0.5 * (z0 + z1)) - 0.5 * (z1 - z0)
    return np.hypot(max(dr, 0.0), max(dz, 0.0)) + min(max(dr, dz), 0.0)


_sdf = jit(_sdf_impl) if numba_available() else _sdf_impl


def obstacle_sdf(p, box_c, box_h, cyl_c, cyl_r, cyl_z, present):
    """Signed distance (N, M) from each point to each obstacle, inf for absent ones."""
    return _all_sdf(np.ascontiguousarray(p, float), box_c, box_h, cyl_c, cyl_r, cyl_z, np.asarray(present, np.bool_))


def _all_sdf_impl(p, box_c, box_h, cyl_c, cyl_r, cyl_z, present):
    nb = len(box_c)
    out = np.empty((len(p), nb + len(cyl_c)))
    for i in range(len(p)):
        for o in range(out.shape[1]):
            out[i, o] = _sdf(p[i, 0], p[i, 1], p[i, 2], o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z) \
                if present[o] else np.inf
    return out


_all_sdf = jit(_all_sdf_impl) if numba_available() else None


def _sense_impl(p, box_c, box_h, cyl_c, cyl_r, cyl_z, present, sensing_range, eps):
    n, nb = len(p), len(box_c)
    m = nb + len(cyl_c)
    clear = np.empty((n, m))
    normal = np.zeros((n, m, 3))
    v = np.empty(6)
    for i in range(n):
        x, y, z = p[i, 0], p[i, 1], p[i, 2]
        for o in range(m):
            if not present[o]:
                clear[i, o] = np.inf
                continue
            d = _sdf(x, y, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            if not d <= sensing_range[i]:     # beyond range (or NaN): not sensed
                clear[i, o] = np.inf if d > sensing_range[i] else d
                continue
            clear[i, o] = d
            v[0] = _sdf(x + eps, y, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            v[1] = _sdf(x - eps, y, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            v[2] = _sdf(x, y + eps, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            v[3] = _sdf(x, y - eps, z, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            v[4] = _sdf(x, y, z + eps, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            v[5] = _sdf(x, y, z - eps, o, nb, box_c, box_h, cyl_c, cyl_r, cyl_z)
            g0, g1, g2 = v[0] - v[1], v[2] - v[3], v[4] - v[5]
            norm = np.sqrt(g0 * g0 + g1 * g1 + g2 * g2)   # a strided 3-vector: in order
            if norm > 1e-12 and np.isfinite(d):
                normal[i, o, 0], normal[i, o, 1], normal[i, o, 2] = g0 / norm, g1 / norm, g2 / norm
    return clear, normal


_sense = jit(_sense_impl) if numba_available() else None
