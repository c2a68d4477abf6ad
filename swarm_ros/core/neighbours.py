"""Neighbour queries with a KD-tree: O(N log N), never all pairs.

Neighbour lists are compressed rows (CSR): neighbours of drone i are
`index[offsets[i]:offsets[i + 1]]`, sorted by receiver then sender.
"""
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


def directed(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of each unordered pair, sorted by (receiver, sender)."""
    recv = np.concatenate([i, j])
    send = np.concatenate([j, i])
    order = np.lexsort((send, recv))
    return recv[order], send[order]


def csr(n: int, receivers: np.ndarray, senders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR offsets (n + 1,) and sender index for edges already sorted by receiver."""
    counts = np.bincount(receivers, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(counts, out=offsets[1:])
    return offsets, senders.astype(np.intp, copy=False)
