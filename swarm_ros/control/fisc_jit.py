"""Compiled twin (numba) of the FISC-like law in fisc.py, for the batched step at scale.

`fisc.fisc_command` in numpy is the reference: readable, and what runs when numba is absent.
numpy spends most of a step at N ~ 1,000 in per-call overhead of ~150 small array operations,
and at N ~ 10,000 in gathers and scatters over the pairs; this module does the same arithmetic
as three compiled loops (kernel sums over pairs, per-agent fields, pair forces and the
per-agent command). It follows numpy's operations in numpy's order where that is simple, and
skips pairs whose terms are exactly zero (at or beyond h), so it agrees with numpy to rounding
(test/test_fisc_speed.py checks 1e-12). Wall distances come from the channel (channel_jit.py).
Which runs: swarm_ros/core/compiled.py.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from swarm_ros.core.compiled import jit
from . import fisc_kernel as K


def command(pos, vel, pi, pj, wall_d, wall_n, channel, params, limits):
    """fisc.fisc_command's numbers: (v, rho, u, T, P)."""
    grid, frac, marg = K._TABLES[pos.shape[1]]
    lim = [np.atleast_1d(np.asarray(x, float)) for x in (limits.max_speed, limits.max_accel, limits.response_time,
                                                         limits.max_climb, limits.max_descent)]
    return _command(np.ascontiguousarray(pos, float), np.ascontiguousarray(vel, float), pi, pj,
                    np.ascontiguousarray(wall_d), np.ascontiguousarray(wall_n), grid, frac, marg,
                    _scalars(params, channel, pos.shape[1]), *lim)


@lru_cache(maxsize=64)
def _scalars(params, channel, dim: int) -> np.ndarray:
    """The law's constants, in the order _command_impl reads them."""
    h = params.h
    s = K.sigma(h, dim)
    return np.array([h, 1.0 / h, s, 4.0 * s, -20.0 * s / (h * h), params.rho0(dim), params.sound_speed ** 2,
                     params.inlet_pressure(dim), channel.inlet_zone, channel.length - channel.outlet_zone,
                     channel.outlet_zone, params.outlet_pressure, params.separation * params.spacing,
                     params.separation_accel, params.wall_range, params.wall_accel, params.viscosity, params.drag,
                     params.body_radius])


def _interp(q, grid, table, left):
    """np.interp(q, grid, table, left=left, right=0) for one value."""
    if q < grid[0]:
        return left
    last = len(grid) - 1
    if q > grid[last]:
        return 0.0
    if q == grid[last]:
        return table[last]
    # the grid is uniform: guess the cell, then step to the one searchsorted(side="right") finds
    j = min(int(q * last), last - 1)
    while j > 0 and grid[j] > q:
        j -= 1
    while j < last - 1 and grid[j + 1] <= q:
        j += 1
    slope = (table[j + 1] - table[j]) / (grid[j + 1] - grid[j])
    return slope * (q - grid[j]) + table[j]


def _pick(a, i):
    return a[i] if len(a) > 1 else a[0]


def _command_impl(x, v, pi, pj, wall_d, wall_n, grid, frac, marg, sc, max_speed, max_accel, tau_a, climb, descent):
    h, inv_h, s, s4, slope_c, rho0, c2, p_in = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7]
    inlet_zone, out_start, outlet_zone, p_out, sep, sep_accel = sc[8], sc[9], sc[10], sc[11], sc[12], sc[13]
    wall_range, wall_accel, viscosity, drag, body_radius = sc[14], sc[15], sc[16], sc[17], sc[18]
    n, dim = x.shape
    nw = wall_d.shape[1]
    v2 = np.empty(n)
    for i in range(n):
        t = v[i, 0] * v[i, 0]
        for c in range(1, dim):
            t += v[i, c] * v[i, c]
        v2[i] = t
    # pass 1: distances, keeping the pairs within h (branch-free: a mispredicted skip costs more
    # than the distance; pairs beyond h have W = 0 and grad W = 0, and sep < h), then kernel
    # sums by i (a) and by j (b) over those, as numpy's two bincounts
    live = np.empty(len(pi), np.intp)
    dist = np.empty(len(pi))
    m = 0
    for k in range(len(pi)):
        i, j = pi[k], pj[k]
        d = x[i, 0] - x[j, 0]
        r2 = d * d
        for c in range(1, dim):
            d = x[i, c] - x[j, c]
            r2 += d * d
        r = np.sqrt(r2)
        live[m] = k
        dist[m] = r
        m += r * inv_h < 1.0
    a = np.zeros((n, 2 + dim))
    b = np.zeros((n, 2 + dim))
    for e in range(m):
        k = live[e]
        i, j = pi[k], pj[k]
        q = min(dist[e] * inv_h, 1.0)
        omq = 1.0 - q
        w = omq * omq * omq * omq * (q * s4 + s)
        a[i, 0] += w
        b[j, 0] += w
        a[i, 1] += v2[j] * w
        b[j, 1] += v2[i] * w
        for c in range(dim):
            a[i, 2 + c] += v[j, c] * w
            b[j, 2 + c] += v[i, c] * w
    # per agent: density with the wall's mirror reservoir, velocity moments, pressure
    rho, P, por, T = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    u = np.empty((n, dim))
    for i in range(n):
        wsum = s + a[i, 0] + b[i, 0]
        fr = 0.0
        for kw in range(nw):
            if wall_d[i, kw] < h:
                fr += _interp(max(wall_d[i, kw], 0.0) / h, grid, frac, 0.5)
        rho[i] = wsum + rho0 * fr
        u2 = 0.0
        for c in range(dim):
            u[i, c] = (s * v[i, c] + (a[i, 2 + c] + b[i, 2 + c])) / wsum
            u2 += u[i, c] * u[i, c]
        T[i] = max((s * v2[i] + (a[i, 1] + b[i, 1])) / wsum - u2, 0.0) / dim
        p = c2 * max(rho[i] - rho0, 0.0)
        beta = min(max((inlet_zone - x[i, 0]) / h, 0.0), 1.0)
        p += beta * (p_in - p)
        gamma = min(max((x[i, 0] - out_start) / outlet_zone, 0.0), 1.0)
        p += gamma * (p_out - p)
        P[i] = p
        por[i] = p / (rho[i] * rho[i])
    # pass 2: symmetric pressure force and the separation push (acc = b - a, as numpy)
    a = np.zeros((n, dim))
    b = np.zeros((n, dim))
    for e in range(m):
        k = live[e]
        i, j = pi[k], pj[k]
        r = dist[e]
        q = min(r * inv_h, 1.0)
        omq = 1.0 - q
        coef = (por[i] + por[j]) * (omq * omq * omq * slope_c)
        if r < sep:
            rc = max(r, 1e-9)
            t = 1.0 - rc / sep
            coef -= sep_accel * (t * t) / rc
        for c in range(dim):
            f = coef * (x[i, c] - x[j, c])
            a[i, c] += f
            b[j, c] += f
    out = np.empty((n, dim))
    acc = np.empty(dim)
    vv = np.empty(dim)
    short = np.empty(nw)
    for i in range(n):
        for c in range(dim):
            acc[c] = b[i, c] - a[i, c]
        # walls: mirror pressure and short-range repulsion
        for kw in range(nw):
            wd = wall_d[i, kw]
            push = 0.0
            if wd < h:
                push = 2.0 * por[i] * rho0 * _interp(max(wd, 0.0) / h, grid, marg, marg[0]) / h
            t = min(max(1.0 - wd / wall_range, 0.0), 1.0)
            push += wall_accel * (t * t)
            for c in range(dim):
                acc[c] += push * wall_n[i, kw, c]
        amag = 0.0
        for c in range(dim):
            acc[c] += viscosity * (u[i, c] - v[i, c]) - drag * v[i, c]
            amag += acc[c] * acc[c]
        scale = min(1.0, _pick(max_accel, i) / max(np.sqrt(amag), 1e-12))
        tau = _pick(tau_a, i)
        for c in range(dim):
            vv[c] = v[i, c] + tau * (acc[c] * scale)
        _clip(vv, _pick(max_speed, i), _pick(climb, i), _pick(descent, i))
        for kw in range(nw):
            allowed = max(wall_d[i, kw] - body_radius, 0.0) * (-0.5 / tau)
            dot = 0.0
            for c in range(dim):
                dot += vv[c] * wall_n[i, kw, c]
            short[kw] = max(allowed - dot, 0.0)
        for kw in range(nw):
            for c in range(dim):
                vv[c] += short[kw] * wall_n[i, kw, c]
        if dim == 3:
            _clip(vv, _pick(max_speed, i), _pick(climb, i), _pick(descent, i))
        for c in range(dim):
            out[i, c] = vv[c]
    return out, rho, u, T, P


def _clip_impl(vv, max_speed, climb, descent):
    hs = np.hypot(vv[0], vv[1])
    scale = min(1.0, max_speed / max(hs, 1e-12))
    vv[0] *= scale
    vv[1] *= scale
    if len(vv) == 3:
        vv[2] = min(max(vv[2], -descent), climb)


_interp = jit(_interp, inline="always")
_pick = jit(_pick, inline="always")
_clip = jit(_clip_impl, inline="always")
_command = jit(_command_impl, nogil=True)
