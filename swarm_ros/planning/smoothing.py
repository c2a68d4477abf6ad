"""Post-processing of a roadmap path: shortcutting, and smoothing that leaves the roadmap's vertices.

A GMT* path runs through sample points, so at a few thousand samples it zigzags and rounds
obstacle corners by up to a connection radius: longer than the optimum by some percent. Both
steps here only ever replace a stretch of the path by one straight segment that the exact
segment test finds free, so the result keeps the planner's guarantee and is never longer (the
triangle inequality). `smooth` also splits the segments into pieces between rounds: the extra
points lie on free segments, and they let later shortcuts start and end mid-segment, which
pulls the path taut around the corners instead of at the nearest roadmap vertex.
"""
from __future__ import annotations

import numpy as np

from .obstacles import ObstacleSet


def path_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum()) if len(points) > 1 else 0.0


def shortcut(points: np.ndarray, obstacles: ObstacleSet) -> np.ndarray:
    """Greedy shortcutting: from each kept point jump to the furthest later point in plain view."""
    if len(points) <= 2:
        return points
    keep, i = [0], 0
    while i < len(points) - 1:
        later = np.arange(i + 1, len(points))
        free = ~obstacles.segments_hit(np.repeat(points[i:i + 1], len(later), axis=0), points[later])
        i = int(later[np.nonzero(free)[0][-1]]) if free.any() else i + 1
        keep.append(i)
    return points[keep]


def subdivide(points: np.ndarray, pieces: int) -> np.ndarray:
    """Every segment split into `pieces` equal parts (the end points kept exactly)."""
    if len(points) < 2 or pieces < 2:
        return points
    f = np.arange(pieces)[:, None] / pieces
    inner = points[:-1, None, :] + f[None] * (points[1:] - points[:-1])[:, None, :]
    return np.r_[inner.reshape(-1, points.shape[1]), points[-1:]]


def smooth(points: np.ndarray, obstacles: ObstacleSet, rounds: int = 6, pieces: int = 4,
           tol: float = 1e-4) -> np.ndarray:
    """Shortcut, then up to `rounds` times split and shortcut again while it shortens by > tol (relative)."""
    best = shortcut(points, obstacles)
    cost = path_length(best)
    for _ in range(rounds):
        cand = shortcut(subdivide(best, pieces), obstacles)
        c = path_length(cand)
        if c >= cost * (1 - tol):
            if c < cost:
                best, cost = cand, c
            break
        best, cost = cand, c
    return best
