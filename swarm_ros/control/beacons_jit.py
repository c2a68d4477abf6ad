"""Compiled (numba) merge of a swarm's beacon memory with a batch of received beacons.

The memory is sorted by (receiver, sender) and so is a radio delivery; merging two sorted runs
is one linear pass, where the general path (beacons.BeaconTable._merge: a stable sort of both)
costs a sort of ~100 beacons per drone per beacon period. Same rule (a beacon replaces the one
held from its sender unless it is older) and same result: test/test_controllers.py checks.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

MIN_ROWS = 512     # smaller memories (a drone node's own): the general path, no compiler


def usable(n_rows: int) -> bool:
    return n_rows >= MIN_ROWS and numba_available()


def strictly_increasing(key: np.ndarray) -> bool:
    return len(key) < 2 or bool((key[1:] > key[:-1]).all())


def _merge_impl(ka, sa, ra, wa, kb, sb, rb, wb):
    n = len(ka) + len(kb)
    key, stamp = np.empty(n, np.int64), np.empty(n)
    rows, width = np.empty((n, ra.shape[1])), np.empty(n, np.int64)
    i = j = m = 0
    while i < len(ka) or j < len(kb):
        if j == len(kb) or (i < len(ka) and ka[i] < kb[j]):
            src, q, i = 0, i, i + 1
        elif i == len(ka) or kb[j] < ka[i]:
            src, q, j = 1, j, j + 1
        else:                      # same sender: the newer beacon, the received one on a tie
            if sb[j] >= sa[i]:
                src, q = 1, j
            else:
                src, q = 0, i
            i += 1
            j += 1
        if src == 0:
            key[m], stamp[m], width[m] = ka[q], sa[q], wa[q]
            rows[m, :] = ra[q, :]
        else:
            key[m], stamp[m], width[m] = kb[q], sb[q], wb[q]
            rows[m, :] = rb[q, :]
        m += 1
    return key[:m], stamp[:m], rows[:m], width[:m]


merge = jit(_merge_impl) if numba_available() else None


def _merge_fresh_impl(ka, sa, ra, wa, kb, sb, rb, ib, wb, t, timeout, n, shift):
    """merge, dropping what is stale at t (older than `timeout`), with the neighbour lists' CSR
    parts of the result in the same pass: per-receiver counts, senders and groups. The received
    beacon q is row ib[q] of rb (the radio's packets as sent, not copied per receiver)."""
    total = len(ka) + len(kb)
    key, stamp = np.empty(total, np.int64), np.empty(total)
    rows, width = np.empty((total, ra.shape[1])), np.empty(total, np.int64)
    sender, group = np.empty(total, np.int64), np.empty(total, np.int64)
    counts = np.zeros(n, np.int64)
    i = j = m = 0
    while i < len(ka) or j < len(kb):
        if j == len(kb) or (i < len(ka) and ka[i] < kb[j]):
            src, q, i = 0, i, i + 1
        elif i == len(ka) or kb[j] < ka[i]:
            src, q, j = 1, j, j + 1
        else:
            if sb[j] >= sa[i]:
                src, q = 1, j
            else:
                src, q = 0, i
            i += 1
            j += 1
        if src == 0:
            if t - sa[q] > timeout:
                continue
            key[m], stamp[m], width[m] = ka[q], sa[q], wa[q]
            for c in range(ra.shape[1]):      # element by element: a slice copy costs more per row
                rows[m, c] = ra[q, c]
        else:
            if t - sb[q] > timeout:
                continue
            key[m], stamp[m], width[m] = kb[q], sb[q], wb[q]
            src = ib[q]
            for c in range(rb.shape[1]):
                rows[m, c] = rb[src, c]
        counts[key[m] // shift] += 1
        sender[m] = key[m] % shift
        group[m] = np.int64(rows[m, 7])
        m += 1
    return key[:m], stamp[:m], rows[:m], width[:m], counts, sender[:m], group[:m]


merge_fresh = jit(_merge_fresh_impl) if numba_available() else None
