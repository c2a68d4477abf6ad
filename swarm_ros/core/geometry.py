"""Signed distance functions over arrays of points, shape (N, 3) -> (N,).

Negative inside, zero on the surface, positive outside. Used for obstacles (collision,
sensing) and for formation targets (drones spread over a shape's surface).
"""
from __future__ import annotations

import numpy as np

GRAD_EPS = 1e-5


def sdf_box(p: np.ndarray, center, half) -> np.ndarray:
    q = np.abs(p - np.asarray(center)) - np.asarray(half)
    outside = norm_rows(np.maximum(q, 0.0))
    return outside + np.minimum(q.max(axis=-1), 0.0)


def sdf_vertical_cylinder(p: np.ndarray, center_xy, radius: float, z_min: float, z_max: float):
    dr = norm_rows(p[..., :2] - np.asarray(center_xy)) - radius
    mid, half = 0.5 * (z_min + z_max), 0.5 * (z_max - z_min)
    dz = np.abs(p[..., 2] - mid) - half
    outside = np.hypot(np.maximum(dr, 0.0), np.maximum(dz, 0.0))
    return outside + np.minimum(np.maximum(dr, dz), 0.0)


def sdf_sphere(p: np.ndarray, center, radius: float) -> np.ndarray:
    return norm_rows(p - np.asarray(center)) - radius


def sdf_ring(p: np.ndarray, center, radius: float) -> np.ndarray:
    """Distance to a horizontal circle (a curve, so never negative)."""
    c = np.asarray(center)
    radial = norm_rows(p[..., :2] - c[:2]) - radius
    return np.hypot(radial, p[..., 2] - c[2])


_PROBES = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)


def norm_rows(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (much cheaper than np.linalg.norm on small arrays)."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def sdf_and_gradient(sdf, p: np.ndarray, eps: float = GRAD_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Value and unit gradient (central differences; zero where flat) of `sdf` at points p (N, 3).

    `sdf` maps (M, 3) to (M,) or (M, K); values have shape (N,) or (N, K), gradients (N, 3) or
    (N, K, 3). The point and its six probes go through `sdf` in one call.
    """
    n = p.shape[0]
    pts = np.empty((7, n, 3))
    pts[0] = p
    pts[1:] = p[None, :, :] + eps * _PROBES[:, None, :]
    values = sdf(pts.reshape(7 * n, 3))
    values = values.reshape(7, n, *values.shape[1:])
    probes = values[1:].reshape(3, 2, n, *values.shape[2:])
    g = np.moveaxis(probes[:, 0] - probes[:, 1], 0, -1)
    norm = norm_rows(g)[..., None]
    return values[0], np.divide(g, norm, out=np.zeros_like(g), where=norm > 1e-12)
