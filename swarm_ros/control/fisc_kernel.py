"""The Wendland C2 smoothing kernel (2-D and 3-D) and its mass beyond a plane wall.

Support radius h (the smoothing length): W(r) = sigma (1 - q)^4 (1 + 4 q) for q = r/h < 1,
sigma = 7/(pi h^2) in 2-D and 21/(2 pi h^3) in 3-D, so W integrates to one over the plane
(space). Wendland C2 is chosen over the cubic spline because it has no pairing instability
(agents do not clump in pairs under compression), which matters when particles are drones.

`wall_fraction(d/h)` is the fraction of the kernel's mass that lies beyond a plane at distance d
from the agent: a wall hides that part of the neighbourhood, and filling it with the rest
density (a mirror reservoir) keeps an agent next to a wall from reading a density deficit.
"""
from __future__ import annotations

import math

import numpy as np

_SIGMA = {2: 7.0 / math.pi, 3: 21.0 / (2.0 * math.pi)}   # for h = 1


def sigma(h: float, dim: int) -> float:
    return _SIGMA[dim] / h ** dim


def kernel(r: np.ndarray, h: float, dim: int) -> np.ndarray:
    q = np.minimum(np.asarray(r, float) / h, 1.0)
    omq = 1.0 - q
    return sigma(h, dim) * omq ** 4 * (1.0 + 4.0 * q)


def kernel_dwdr_over_r(r: np.ndarray, h: float, dim: int) -> np.ndarray:
    """(dW/dr) / r, which is finite at r = 0: -20 sigma (1 - q)^3 / h^2."""
    q = np.minimum(np.asarray(r, float) / h, 1.0)
    omq = 1.0 - q
    return (-20.0 * sigma(h, dim) / (h * h)) * omq ** 3


def kernel_and_slope(r: np.ndarray, h: float, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """W(r) and (dW/dr)/r together (the batched step's hot path: in place, no powers)."""
    s = sigma(h, dim)
    q = np.multiply(r, 1.0 / h)
    np.minimum(q, 1.0, out=q)
    omq = np.subtract(1.0, q)
    slope = np.multiply(omq, omq)
    slope *= omq                       # (1 - q)^3
    w = np.multiply(slope, omq)        # (1 - q)^4
    q *= 4.0 * s
    q += s                             # sigma (1 + 4 q)
    w *= q
    slope *= -20.0 * s / (h * h)
    return w, slope


def _marginal(x: np.ndarray, dim: int, samples: int = 2001) -> np.ndarray:
    """Integral of the h = 1 kernel over the line (2-D) or plane (3-D) at distance x."""
    out = np.empty_like(x)
    for k, xv in enumerate(x):
        rmax = math.sqrt(max(1.0 - xv * xv, 0.0))
        s = np.linspace(0.0, rmax, samples)
        w = kernel(np.sqrt(xv * xv + s * s), 1.0, dim)
        out[k] = np.trapezoid(w * (2.0 if dim == 2 else 2.0 * math.pi * s), s)
    return out


def _tables(dim: int, points: int = 401):
    q = np.linspace(0.0, 1.0, points)
    f = _marginal(q, dim)
    # fraction beyond q: integral of the marginal from q to 1 (trapezoid, then exact 0.5 at q = 0)
    tail = np.concatenate([np.cumsum(((f[1:] + f[:-1]) * 0.5 * np.diff(q))[::-1])[::-1], [0.0]])
    return q, tail * (0.5 / tail[0]), f * (0.5 / tail[0])


_TABLES = {dim: _tables(dim) for dim in (2, 3)}


def wall_fraction(q: np.ndarray, dim: int, xp=np) -> np.ndarray:
    """Fraction of the kernel's mass beyond a plane at distance q h (0 for q >= 1, 1/2 at q = 0)."""
    grid, frac, _ = _tables_on(xp, dim)
    return xp.interp(q, grid, frac, left=0.5, right=0.0)


def wall_fraction_slope(q: np.ndarray, dim: int, xp=np) -> np.ndarray:
    """-d(wall_fraction)/dq: the kernel's marginal at distance q h, for h = 1 (>= 0)."""
    grid, _, marg = _tables_on(xp, dim)
    return xp.interp(q, grid, marg, left=float(_TABLES[dim][2][0]), right=0.0)


_DEVICE_TABLES: dict = {}


def _tables_on(xp, dim: int):
    """The tables as arrays of `xp` (numpy, or CuPy: copied to the GPU once)."""
    if xp is np:
        return _TABLES[dim]
    key = (xp.__name__, dim)
    if key not in _DEVICE_TABLES:
        _DEVICE_TABLES[key] = tuple(xp.asarray(t) for t in _TABLES[dim])
    return _DEVICE_TABLES[key]
