"""Neighbour queries with a KD-tree: O(N log N), never all pairs."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def pairs_within(positions: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Unordered pairs (i < j) whose distance is at most `radius`."""
    if len(positions) < 2 or radius <= 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    pairs = cKDTree(positions).query_pairs(radius, output_type="ndarray")
    return pairs[:, 0], pairs[:, 1]
