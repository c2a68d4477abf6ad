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


def _merge_stored_impl(ka, sa, ia, wa, kb, sb, ib, wb, store, t, timeout, n):
    """merge, dropping what is stale at t (older than `timeout`), with the neighbour lists' CSR
    parts of the result in the same pass: per-receiver counts, senders and groups. Each beacon
    is its row in `store` (ia, ib), not a copy of it: only row numbers move."""
    total = len(ka) + len(kb)
    key, stamp = np.empty(total, np.int64), np.empty(total)
    src, width = np.empty(total, np.int64), np.empty(total, np.int64)
    sender, group = np.empty(total, np.int64), np.empty(total, np.int64)
    counts = np.zeros(n, np.int64)
    i = j = m = 0
    while i < len(ka) or j < len(kb):
        if j == len(kb) or (i < len(ka) and ka[i] < kb[j]):
            src_b, q, i = False, i, i + 1
        elif i == len(ka) or kb[j] < ka[i]:
            src_b, q, j = True, j, j + 1
        else:                      # same sender: the newer beacon, the received one on a tie
            if sb[j] >= sa[i]:
                src_b, q = True, j
            else:
                src_b, q = False, i
            i += 1
            j += 1
        if src_b:
            if t - sb[q] > timeout:
                continue
            k, stamp[m], src[m], width[m] = kb[q], sb[q], ib[q], wb[q]
        else:
            if t - sa[q] > timeout:
                continue
            k, stamp[m], src[m], width[m] = ka[q], sa[q], ia[q], wa[q]
        key[m] = k
        counts[k >> 32] += 1                 # key = receiver * 2^32 + sender
        sender[m] = k & 0xFFFFFFFF
        group[m] = np.int64(store[src[m], 7])
        m += 1
    return key[:m], stamp[:m], src[:m], width[:m], counts, sender[:m], group[:m]


def _compact_impl(store, src):
    """The rows of `store` that `src` refers to, in store order, and src renumbered to them."""
    used = np.zeros(len(store) + 1, np.int64)
    for k in range(len(src)):
        used[src[k] + 1] = 1
    for r in range(len(store)):
        used[r + 1] += used[r]
    kept = np.empty((used[len(store)], store.shape[1]))
    for r in range(len(store)):
        if used[r + 1] != used[r]:
            kept[used[r], :] = store[r, :]
    out = np.empty(len(src), np.int64)
    for k in range(len(src)):
        out[k] = used[src[k]]
    return kept, out


merge_stored = jit(_merge_stored_impl) if numba_available() else None
compact = jit(_compact_impl) if numba_available() else None
