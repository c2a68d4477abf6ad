"""Compiled (numba) twin of the geometric roadmap's CSR build: sorted rows and edge costs.

roadmap._geometric concatenates both directions of every neighbour pair, sorts them into CSR
with scipy.sparse and permutes the costs: several copies and a sort of every edge. Here two
counting sorts (by column, then stably by row) put the same edges in the same order (rows by
source, then by destination) and each edge's cost is computed with edge_lengths' operations
in its order (a sum of squared coordinate differences from 0, then sqrt), so the arrays are
the same bit for bit: test/test_gmt_jit.py compares them.
"""
from __future__ import annotations

import math

import numpy as np

from swarm_ros.core.compiled import jit, numba_available


def _symmetric_csr_impl(n, i, j, pts):
    """(ptr, cols, cost, distinct) of the edges i -> j and j -> i; distinct False on a repeated pair."""
    p, dim = len(i), pts.shape[1]
    start = np.zeros(n + 1, np.intp)                # row lengths: a pair is an edge out of both ends
    for e in range(p):
        start[i[e] + 1] += 1
        start[j[e] + 1] += 1
    for x in range(n):
        start[x + 1] += start[x]
    src = np.empty(2 * p, np.int32)                 # counting sort by destination (n < 2^31)
    fill = start[:-1].copy()                        # (i -> j edges first) ...
    for e in range(p):
        src[fill[j[e]]] = i[e]
        fill[j[e]] += 1
    for e in range(p):
        src[fill[i[e]]] = j[e]
        fill[i[e]] += 1
    cols = np.empty(2 * p, np.intp)                 # ... then stably by source: rows by source,
    fill[:] = start[:-1]                            # each row by destination
    for dst in range(n):
        for t in range(start[dst], start[dst + 1]):
            s = src[t]
            cols[fill[s]] = dst
            fill[s] += 1
    # The cost is edge_lengths' (squares summed from 0 by coordinate; (a - b)^2 == (b - a)^2).
    cost = np.empty(2 * p)
    for x in range(n):
        for e in range(start[x], start[x + 1]):
            acc = 0.0
            for k in range(dim):
                d = pts[x, k] - pts[cols[e], k]
                acc += d * d
            cost[e] = math.sqrt(acc)
    distinct = True
    for x in range(n):
        for q in range(start[x] + 1, start[x + 1]):
            if cols[q] == cols[q - 1]:
                distinct = False
    return start, cols, cost, distinct


_symmetric_csr = jit(_symmetric_csr_impl)


def usable(n: int) -> bool:
    """numba is installed and node numbers fit the kernel's 32-bit scratch array."""
    return numba_available() and n < 2 ** 31


def symmetric_csr(n: int, i: np.ndarray, j: np.ndarray, pts: np.ndarray):
    """csr_from_pairs(n, r_[i, j], r_[j, i], r_[c, c]) with c = edge_lengths(pts, i, j)."""
    ptr, cols, cost, distinct = _symmetric_csr(int(n), np.ascontiguousarray(i, np.intp),
                                               np.ascontiguousarray(j, np.intp), np.ascontiguousarray(pts, np.float64))
    if not distinct:
        raise ValueError("csr_from_pairs needs distinct (src, dst) pairs")
    return ptr, cols, cost
