"""A drone's memory of its neighbours: the latest beacon heard from each, forgotten when stale.

Kept as flat arrays sorted by (receiver, sender), so a whole swarm's memory is updated and read
with array operations: received beacons are merged in one sort of already-sorted runs, and the
neighbour lists come out in CSR form without touching single beacons in Python.
"""
from __future__ import annotations

import numpy as np

from . import beacons_jit
from .contract import BEACON_SIZE, Neighbours, StoredNeighbours

_SHIFT = np.int64(1 << 32)   # key = receiver * 2^32 + sender (fleet indices are far below 2^32)


class BeaconTable:
    """Latest beacon per sender for each of N receivers (N = 1 on a drone).

    A beacon replaces the one held from the same sender when its stamp is not older; beacons
    older than `timeout` at a `neighbours(t)` call are forgotten.
    """

    def __init__(self, n: int, timeout: float):
        self.n, self.timeout = n, timeout
        self._key = np.zeros(0, np.int64)
        self._stamp = np.zeros(0)
        self._rows = np.zeros((0, BEACON_SIZE))   # one row per beacon, or None while held as:
        self._store: np.ndarray | None = None      # the rows as received (one per sender and round)
        self._src: np.ndarray | None = None        # and each beacon's row in them
        self._buffer: np.ndarray | None = None     # the store is its first rows; room for more behind
        self._width = np.zeros(0, np.intp)
        self._pending: list = []              # (key, stamp, rows, width, row or None) in arrival order
        self._cache: tuple[float, Neighbours] | None = None
        self._oldest: tuple[np.ndarray, float] | None = None   # (stamps, their minimum)

    def add(self, receiver: int, sender: int, stamp: float, beacon: np.ndarray) -> None:
        beacon = np.asarray(beacon, float)
        self.add_many(np.array([receiver]), np.array([sender]), np.array([stamp], float), beacon[None, :])

    def add_many(self, receiver: np.ndarray, sender: np.ndarray, stamp: np.ndarray, rows: np.ndarray,
                 width: np.ndarray | None = None, row: np.ndarray | None = None) -> None:
        """Beacons rows[k] (NaN-padded beyond width[k]) heard by receiver[k] from sender[k], in
        arrival order (a later beacon with the same stamp replaces an earlier one). With `row`,
        beacon k is rows[row[k]] (a radio round's packets as sent, one row per sender)."""
        if row is None:
            rows = np.asarray(rows, float).reshape(len(receiver), -1)
        else:
            rows, row = np.asarray(rows, float), np.asarray(row, np.int64)
        if width is None:
            width = np.full(len(receiver), rows.shape[1], np.intp)
        if len(receiver):
            key = np.asarray(receiver, np.int64) * _SHIFT + np.asarray(sender, np.int64)
            self._pending.append((key, np.asarray(stamp, float), rows, np.asarray(width, np.intp), row))
            self._cache = None

    def _held_rows(self) -> np.ndarray:
        """The beacon rows as one array (the general paths), gathered from the store if held there."""
        if self._rows is None:
            self._rows = self._store[self._src]
            self._store = self._src = None
        return self._rows

    def _merge(self) -> None:
        self._held_rows()
        # the general path takes every beacon as its own row
        self._pending = [(k, s, rows if row is None else rows[row], w) for k, s, rows, w, row in self._pending]
        total = len(self._key) + sum(len(p[0]) for p in self._pending)
        if beacons_jit.usable(total) and all(
                p[2].shape[1] == self._rows.shape[1] and beacons_jit.strictly_increasing(p[0]) for p in self._pending):
            for key, stamp, rows, width in self._pending:     # one linear merge per delivery
                self._key, self._stamp, self._rows, self._width = beacons_jit.merge(
                    self._key, self._stamp, self._rows, self._width.astype(np.int64), key, stamp,
                    np.ascontiguousarray(rows), width.astype(np.int64))
            self._pending = []
            return
        parts = [(self._key, self._stamp, self._rows, self._width)] + self._pending
        self._pending = []
        cols = max(p[2].shape[1] for p in parts)
        key = np.concatenate([p[0] for p in parts])
        stamp = np.concatenate([p[1] for p in parts])
        rows = np.concatenate([p[2] if p[2].shape[1] == cols else
                               np.pad(p[2], ((0, 0), (0, cols - p[2].shape[1])), constant_values=np.nan)
                               for p in parts])
        width = np.concatenate([p[3] for p in parts])
        order = np.argsort(key, kind="stable")     # sorted runs: a merge; ties keep arrival order
        key, stamp = key[order], stamp[order]
        start = np.ones(len(key), bool)
        start[1:] = key[1:] != key[:-1]
        if start.all():
            keep = order
        else:
            # per key: the newest stamp, and of equal stamps the one that arrived last
            group = np.cumsum(start) - 1
            newest = np.maximum.reduceat(stamp, np.flatnonzero(start))
            cand = np.flatnonzero(stamp == newest[group])
            last = np.ones(len(cand), bool)
            last[:-1] = group[cand[1:]] != group[cand[:-1]]
            keep = order[cand[last]]
            key, stamp = key[cand[last]], stamp[cand[last]]
        self._key, self._stamp, self._rows, self._width = key, stamp, rows[keep], width[keep]

    def _merge_fresh(self, t: float) -> Neighbours | None:
        """The compiled path: pending deliveries merged, stale beacons dropped and the CSR lists
        built in one pass per delivery (None where it does not apply: the general path). Beacons
        stay rows of the store they arrived in; only their row numbers are merged."""
        held = self._rows if self._rows is not None else self._store
        pending = self._pending or [(np.zeros(0, np.int64), np.zeros(0), held[:0], np.zeros(0, np.intp), None)]
        total = len(self._key) + sum(len(p[0]) for p in pending)
        if not (beacons_jit.usable(total) and held.shape[1] >= BEACON_SIZE and all(
                p[2].shape[1] == held.shape[1] and beacons_jit.strictly_increasing(p[0]) for p in pending)):
            return None
        if self._rows is not None:           # rows held one per beacon: they become the store
            self._store, self._src, self._rows = np.ascontiguousarray(self._rows, float), np.arange(len(self._key)), None
        rows_of, base = [], len(self._store)
        for key, _, rows, _, row in pending:
            rows_of.append(base + (np.arange(len(key)) if row is None else row))
            base += len(rows)
        store = self._appended([p[2] for p in pending if len(p[2])])
        src = self._src
        for (key, stamp, _, width, _), row in zip(pending, rows_of):
            (self._key, self._stamp, src, self._width, counts, sender, group) = beacons_jit.merge_stored(
                self._key, self._stamp, src, self._width.astype(np.int64, copy=False), key, np.asarray(stamp, float),
                row, width.astype(np.int64, copy=False), store, float(t), float(self.timeout), self.n)
        if len(store) > max(16 * self.n, 2 * len(src)) + 1024:     # drop the rows no beacon refers to
            store, src = beacons_jit.compact(store, src)
        self._store, self._src, self._pending = store, src, []
        cols = max(BEACON_SIZE, int(self._width.max())) if len(self._width) else BEACON_SIZE
        offsets = np.zeros(self.n + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        return StoredNeighbours(offsets, sender, self._stamp, group, store, src, cols)

    def _appended(self, parts: list) -> np.ndarray:
        """The store with the rows of `parts` after it, written into the spare room of its
        buffer (a bigger buffer when that is full): not the whole store copied every round.
        Rows already there are never changed, so neighbour lists handed out earlier, which
        read their prefix of the buffer, keep their numbers."""
        if not parts:
            return self._store
        used = len(self._store)
        total = used + sum(len(p) for p in parts)
        buf = self._buffer
        if buf is None or self._store.base is not buf or total > len(buf) or buf.shape[1] != self._store.shape[1]:
            buf = np.empty((max(2 * total, 1024), self._store.shape[1]))
            buf[:used] = self._store
            self._buffer = buf
        for rows in parts:
            buf[used:used + len(rows)] = rows
            used += len(rows)
        return buf[:total]

    def _oldest_stamp(self) -> float:
        """The oldest stamp held: worked out once per memory, not on every tick (stamps are
        replaced, never changed in place)."""
        if self._oldest is None or self._oldest[0] is not self._stamp:
            self._oldest = (self._stamp, float(self._stamp.min()))
        return self._oldest[1]

    def neighbours(self, t: float) -> Neighbours:
        """Fresh beacons (age <= timeout), per receiver sorted by sender."""
        if self._pending or (self._cache is not None and self._cache[0] != t and len(self._stamp)
                             and t - self._oldest_stamp() > self.timeout):
            nb = self._merge_fresh(t)
            if nb is not None:
                self._cache = (t, nb)
                return nb
        if self._pending:
            self._merge()
        if self._cache is not None and (self._cache[0] == t or not len(self._stamp)
                                        or t - self._oldest_stamp() <= self.timeout):
            return self._cache[1]          # nothing arrived or expired since the last call
        stale = t - self._stamp > self.timeout
        if stale.any():
            fresh = ~stale
            rows = self._held_rows()
            self._key, self._stamp = self._key[fresh], self._stamp[fresh]
            self._rows, self._width = rows[fresh], self._width[fresh]
            self._cache = None
        elif self._cache is not None:
            return self._cache[1]
        receiver = (self._key // _SHIFT).astype(np.intp)
        counts = np.bincount(receiver, minlength=self.n)
        cols = max(BEACON_SIZE, int(self._width.max())) if len(self._width) else BEACON_SIZE
        nb = Neighbours.from_rows(counts, (self._key % _SHIFT).astype(np.intp), self._stamp,
                                  self._held_rows()[:, :cols])
        self._cache = (t, nb)
        return nb


def beacon_interval(control_rate: float, beacon_rate: float) -> int:
    """Control ticks between two beacons of one drone."""
    return max(1, int(round(control_rate / beacon_rate)))


def beacon_due(tick: int, interval: int) -> bool:
    """Every drone broadcasts every `interval` ticks, all on the same ticks (one radio
    message per receiver per beacon period instead of one per tick)."""
    return tick % interval == 0
