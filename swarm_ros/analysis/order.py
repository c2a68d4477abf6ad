"""Swarm order parameters per time step (Vicsek polarization, milling) and speeds.

Polarization P = || mean_i v_i / |v_i| || over the drones moving faster than a threshold
(hovering drones have no heading): 1 when all fly the same way, near 0 when headings cancel.
Milling M = | mean_i z . (r_i x v_i) / (|r_i| |v_i|) | with r_i the horizontal offset from the
moving drones' horizontal centroid and v_i the horizontal velocity: 1 for a swarm circling a
vertical axis in one sense, 0 for no net rotation. Drones mill about the vertical (gravity picks
the axis), so layers at different heights still count as one mill. Both need two moving drones;
otherwise the step is NaN.
"""
from __future__ import annotations

import numpy as np

from .defaults import MIN_SPEED



BLOCK = 20_000       # time steps per block: bounds the temporaries on long runs


def _blocked(fn):
    """Apply a per-step function over blocks of time steps (same result, bounded memory)."""
    def run(*arrays, **kw):
        steps = len(arrays[0])
        parts = [fn(*(a[s:s + BLOCK] if isinstance(a, np.ndarray) else a for a in arrays), **kw)
                 for s in range(0, steps, BLOCK)]
        return np.concatenate(parts) if parts else np.zeros(0)
    run.__doc__ = fn.__doc__
    return run


def speeds(vel: np.ndarray) -> np.ndarray:
    return np.linalg.norm(vel, axis=2)


def _unit(v: np.ndarray, ok: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(ok[..., None], v / np.where(n > 0, n, 1.0), 0.0)


@_blocked
def polarization(vel: np.ndarray, min_speed: float = MIN_SPEED) -> np.ndarray:
    speed = speeds(vel)
    with np.errstate(invalid="ignore"):
        moving = np.nan_to_num(speed) > min_speed
    count = moving.sum(axis=1)
    total = _unit(np.nan_to_num(vel), moving).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= 2, np.linalg.norm(total, axis=1) / count, np.nan)


@_blocked
def milling(pos: np.ndarray, vel: np.ndarray, min_speed: float = MIN_SPEED) -> np.ndarray:
    p, v = np.nan_to_num(pos[:, :, :2]), np.nan_to_num(vel[:, :, :2])
    moving = np.linalg.norm(v, axis=2) > min_speed
    count = moving.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = (p * moving[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    r = p - centroid[:, None, :]
    ok = moving & (np.linalg.norm(r, axis=2) > 1e-9)
    ru, vu = _unit(r, ok), _unit(v, ok)
    cross = ru[..., 0] * vu[..., 1] - ru[..., 1] * vu[..., 0]
    n_ok = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_ok >= 2, np.abs(cross.sum(axis=1)) / n_ok, np.nan)


def nan_stats(x: np.ndarray) -> dict:
    """Mean, min, max of the finite values (None when there are none)."""
    f = x[np.isfinite(x)]
    if not len(f):
        return {"mean": None, "min": None, "max": None, "steps": 0}
    return {"mean": float(f.mean()), "min": float(f.min()), "max": float(f.max()), "steps": int(len(f))}
