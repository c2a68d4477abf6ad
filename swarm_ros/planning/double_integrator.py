"""Two-point boundary value problem of the 3-D double integrator (p'' = u), vectorized over pairs.

Cost of going from (p0, v0) to (p1, v1) in time tau with the least effort: tau + int |u|^2 dt.
With dp = p1 - p0 the minimum-effort trajectory for a fixed tau is a cubic per axis and

    c(tau) = tau + a / tau^3 - b / tau^2 + e / tau,
    a = 12 |dp|^2,  b = 12 dp . (v0 + v1),  e = 4 (|v0|^2 + v0 . v1 + |v1|^2),

so the optimal arrival time is the best positive real root of tau^4 - e tau^2 + 2 b tau - 3 a
(exact, from the companion matrix, instead of the authors' bisection on dc/dtau). No gravity
term: the planner plans accelerations and the flight controller holds the vehicle up.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPEED_SAMPLES = 32        # intervals at which the horizontal speed of an edge is checked


@dataclass(frozen=True)
class Limits:
    """Vehicle limits the trajectory must respect (SI)."""
    max_speed: float      # horizontal speed
    max_climb: float
    max_descent: float
    max_accel: float      # norm

    @classmethod
    def of(cls, vehicle) -> "Limits":
        return cls(vehicle.max_speed, vehicle.max_climb, vehicle.max_descent, vehicle.max_accel)


def coefficients(x0: np.ndarray, x1: np.ndarray):
    """a, b, e of the cost polynomial for state pairs x0 -> x1, each (m, 6) = (p, v)."""
    dp, v0, v1 = x1[:, :3] - x0[:, :3], x0[:, 3:], x1[:, 3:]
    return (12 * (dp * dp).sum(1), 12 * (dp * (v0 + v1)).sum(1),
            4 * ((v0 * v0).sum(1) + (v0 * v1).sum(1) + (v1 * v1).sum(1)))


def cost_at(tau, a, b, e):
    return tau + a / tau ** 3 - b / tau ** 2 + e / tau


def optimal(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal arrival time and cost for each pair (identical states: time 0, cost 0)."""
    a, b, e = coefficients(x0, x1)
    m = len(a)
    comp = np.zeros((m, 4, 4))
    comp[:, 1, 0] = comp[:, 2, 1] = comp[:, 3, 2] = 1.0
    comp[:, 0, 3], comp[:, 1, 3], comp[:, 2, 3] = 3 * a, -2 * b, e
    roots = np.linalg.eigvals(comp) if m else np.zeros((0, 4), complex)
    real = np.abs(roots.imag) <= 1e-7 * (1 + np.abs(roots.real))
    tau = np.where(real & (roots.real > 1e-9), roots.real, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = cost_at(tau, a[:, None], b[:, None], e[:, None])
    c = np.where(np.isnan(c), np.inf, c)
    k = np.argmin(c, axis=1)
    rows = np.arange(m)
    best_tau, best_c = tau[rows, k], c[rows, k]
    same = ~np.isfinite(best_c)                       # no positive root: the states coincide
    return np.where(same, 0.0, best_tau), np.where(same, 0.0, best_c)


def cubic(x0: np.ndarray, x1: np.ndarray, tau: np.ndarray):
    """Per-axis polynomial coefficients (c0, c1, c2, c3), each (m, 3), of p(t) on [0, tau]."""
    p0, v0, p1, v1 = x0[:, :3], x0[:, 3:], x1[:, :3], x1[:, 3:]
    t = tau[:, None]
    d, dv = p1 - p0 - v0 * t, v1 - v0
    return p0, v0, (3 * d - dv * t) / t ** 2, (dv * t - 2 * d) / t ** 3


def states(x0, x1, tau, s: np.ndarray):
    """Positions, velocities, accelerations at fractions s (k,) of each edge: (m, k, 3) each."""
    c0, c1, c2, c3 = (c[:, None, :] for c in cubic(x0, x1, tau))
    t = (tau[:, None] * s[None, :])[:, :, None]
    return (c0 + t * (c1 + t * (c2 + t * c3)), c1 + t * (2 * c2 + 3 * c3 * t), 2 * c2 + 6 * c3 * t)


def peak_accel(x0, x1, tau) -> np.ndarray:
    """Largest |u| on each edge: u is linear in t, so its norm peaks at an end."""
    _, _, c2, c3 = cubic(x0, x1, tau)
    start, end = 2 * c2, 2 * c2 + 6 * c3 * tau[:, None]
    return np.maximum(np.linalg.norm(start, axis=1), np.linalg.norm(end, axis=1))


def within_limits(x0, x1, tau, lim: Limits) -> np.ndarray:
    """Whether each edge's cubic respects the limits along its whole duration.

    Acceleration and vertical speed are exact (linear / quadratic in t). The horizontal speed is
    checked at SPEED_SAMPLES intervals with a guard band of peak_accel * h / 2, which bounds how
    much it can grow between samples, so a pass is a guarantee.
    """
    ok = np.ones(len(tau), bool)
    if not len(tau):
        return ok
    acc = peak_accel(x0, x1, tau)
    ok &= acc <= lim.max_accel
    _, c1, c2, c3 = cubic(x0, x1, tau)
    # Vertical speed v(t) = c1 + 2 c2 t + 3 c3 t^2: ends and the vertex if inside.
    vz = [c1[:, 2], c1[:, 2] + 2 * c2[:, 2] * tau + 3 * c3[:, 2] * tau ** 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        tv = np.clip(-c2[:, 2] / (3 * c3[:, 2]), 0, tau)
    tv = np.where(np.isfinite(tv), tv, 0.0)
    vz.append(c1[:, 2] + 2 * c2[:, 2] * tv + 3 * c3[:, 2] * tv ** 2)
    vz = np.stack(vz, axis=1)
    ok &= (vz.max(axis=1) <= lim.max_climb) & (vz.min(axis=1) >= -lim.max_descent)
    _, vel, _ = states(x0, x1, tau, np.linspace(0, 1, SPEED_SAMPLES + 1))
    vxy = np.sqrt((vel[:, :, :2] ** 2).sum(axis=2)).max(axis=1)
    return ok & (vxy + acc * tau / (2 * SPEED_SAMPLES) <= lim.max_speed)
