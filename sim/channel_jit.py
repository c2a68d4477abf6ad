"""Compiled twin (numba) of Channel.walls, for the batched FISC-like step at scale.

Same formulas in the same order as the numpy method in channel.py (which stays the reference
and what runs without numba); test/test_fisc_speed.py checks that both agree to 1e-12.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit


def walls(channel, p: np.ndarray, reach: float):
    ax, ay, ex, ey, inv = channel._segments
    height = -1.0 if channel.height is None else float(channel.height)
    return _walls(np.ascontiguousarray(p, float), float(reach), channel.stations, channel._half_widths,
                  ax, ay, ex, ey, inv, channel._min_cos, channel.length, height)


def _interp(x, xp, fp):
    """np.interp(x, xp, fp) for one value (few breakpoints: a linear scan)."""
    last = len(xp) - 1
    if x < xp[0]:
        return fp[0]
    if x >= xp[last]:
        return fp[last]
    j = 0
    while xp[j + 1] <= x:
        j += 1
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + fp[j]


def _side_wall(x, y, stations, half_widths, ax, ay, ex, ey, inv):
    best, k, bqx, bqy = np.inf, 0, 0.0, 0.0
    last = len(ax) - 1
    for s in range(len(ax)):
        t = ((x - ax[s]) * ex[s] + (y - ay[s]) * ey[s]) * inv[s]
        if s >= 1:
            t = max(t, 0.0)
        if s < last:
            t = min(t, 1.0)
        qx = ax[s] + t * ex[s] - x
        qy = ay[s] + t * ey[s] - y
        d2 = qx * qx + qy * qy
        if d2 < best:
            best, k, bqx, bqy = d2, s, qx, qy
    dist = np.sqrt(best)
    sgn = 1.0 if y < _interp(x, stations, half_widths) else -1.0
    safe = max(dist, 1e-12)
    nx, ny = -sgn * bqx / safe, -sgn * bqy / safe
    if dist < 1e-12:
        ln = np.hypot(ex[k], ey[k])
        nx, ny = ey[k] / ln, -ex[k] / ln
    return sgn * dist, nx, ny


def _walls_impl(p, reach, stations, half_widths, ax, ay, ex, ey, inv, min_cos, length, height):
    n, dim = p.shape
    nw = 3 if dim == 2 else 5
    d = np.empty((n, nw))
    nrm = np.zeros((n, nw, dim))
    for i in range(n):
        x, y = p[i, 0], p[i, 1]
        half = _interp(x, stations, half_widths)
        for side in range(2):
            sign = 1.0 - 2.0 * side
            gap = (half - sign * y) * min_cos
            if gap <= reach or x < 0 or x > length:
                dist, nx, ny = _side_wall(x, sign * y, stations, half_widths, ax, ay, ex, ey, inv)
                d[i, side] = dist
                nrm[i, side, 0] = nx
                nrm[i, side, 1] = sign * ny
            else:
                d[i, side] = gap
                nrm[i, side, 1] = -sign
        d[i, 2] = x
        nrm[i, 2, 0] = 1.0
        if dim == 3:
            d[i, 3] = p[i, 2]
            nrm[i, 3, 2] = 1.0
            d[i, 4] = height - p[i, 2]
            nrm[i, 4, 2] = -1.0
    return d, nrm


_interp = jit(_interp)
_side_wall = jit(_side_wall)
_walls = jit(_walls_impl, nogil=True)
