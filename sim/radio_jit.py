"""Compiled (numba) radio links: a cell list that yields links already in delivery order.

Radio.links with a KD-tree returns pairs in no useful order, and sorting ~100 links per drone
for a whole swarm costs more than finding them. Here every sender walks the 27 cells of side
`cell` (the largest range) around it; two stable counting sorts over all links (by receiver,
then by sender slot) put them in the order the loss draws need: by sender slot, then receiver.
(Sorting each sender's ~100 receivers on its own cost four times the cell walk.) Same links
and order as the KD-tree path (test/test_radio.py checks); used when numba is installed.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

from . import cell_grid

MIN_SENDERS = 64          # fewer: the KD-tree path (no compiler for a handful of packets)


def links(positions: np.ndarray, senders: np.ndarray, ranges: np.ndarray):
    """(sender slot, receiver, distance / link range) with distance <= min(range_s, range_r),
    sorted by slot then receiver; None where the grid would be too sparse."""
    grid = cell_grid.build(positions, float(ranges[senders].max()))
    if grid is None:     # a sparser grid (drones far apart): the KD-tree path instead
        return None
    return _links(np.ascontiguousarray(positions, float), np.asarray(senders, np.int64),
                  np.asarray(ranges, float), *grid)


def _links_impl(pos, senders, rng, c, dims, order, start):
    n, m = len(pos), len(senders)
    cells = np.empty(27, np.int64)
    cap = 16 * m + 16
    rcv = np.empty(cap, np.int64)
    ends = np.zeros(m + 1, np.int64)       # slot k's links are rcv[ends[k]:ends[k + 1]]
    per_rcv = np.zeros(n + 1, np.int64)
    total = 0
    for slot in range(m):           # each sender's receivers, in cell order
        s = senders[slot]
        n_cells = cell_grid.around(c[s], dims, cells)
        room = 0
        for a in range(n_cells):
            room += start[cells[a] + 1] - start[cells[a]]
        if total + room > cap:
            cap = max(2 * cap, total + room)
            r2 = np.empty(cap, np.int64)
            r2[:total] = rcv[:total]
            rcv = r2
        rs = rng[s]
        first = total
        for a in range(n_cells):
            cid = cells[a]
            for q in range(start[cid], start[cid + 1]):
                j = order[q]
                ex = pos[s, 0] - pos[j, 0]
                ey = pos[s, 1] - pos[j, 1]
                ez = pos[s, 2] - pos[j, 2]
                rcv[total] = j       # written always, kept when in range: no branch to mispredict
                total += (np.sqrt(ex * ex + ey * ey + ez * ez) <= min(rs, rng[j])) & (j != s)
        ends[slot + 1] = total
        for e in range(first, total):
            per_rcv[rcv[e] + 1] += 1
    for i in range(n):
        per_rcv[i + 1] += per_rcv[i]
    slots = np.empty(total, np.int64)
    out_rcv = np.empty(total, np.int64)
    out_frac = np.empty(total)
    if _everyone(senders, n):
        # links are symmetric when every drone sends: ordered by receiver, then sender (one
        # stable counting sort), they are the links ordered by sender, then receiver, read
        # backwards: receiver j's senders are sender j's receivers
        for slot in range(m):
            for e in range(ends[slot], ends[slot + 1]):
                j = rcv[e]
                q = per_rcv[j]
                per_rcv[j] = q + 1
                slots[q] = j
                out_rcv[q] = slot
    else:
        # two stable counting sorts, by receiver and then by slot, order every slot's receivers
        by_rcv = np.empty(total, np.int64)
        slot_of = np.empty(total, np.int64)
        for slot in range(m):
            for e in range(ends[slot], ends[slot + 1]):
                q = per_rcv[rcv[e]]
                per_rcv[rcv[e]] = q + 1
                by_rcv[q] = e
                slot_of[e] = slot
        at = ends[:m].copy()
        for q in range(total):
            e = by_rcv[q]
            slot = slot_of[e]
            k = at[slot]
            at[slot] = k + 1
            slots[k] = slot
            out_rcv[k] = rcv[e]
    for q in range(total):
        s, j = senders[slots[q]], out_rcv[q]
        ex = pos[s, 0] - pos[j, 0]
        ey = pos[s, 1] - pos[j, 1]
        ez = pos[s, 2] - pos[j, 2]
        out_frac[q] = np.sqrt(ex * ex + ey * ey + ez * ez) / min(rng[s], rng[j])
    return slots, out_rcv, out_frac


def _everyone_impl(senders, n):
    """Senders are the drones 0..n-1, each once (slot = drone)."""
    if len(senders) != n:
        return False
    for k in range(n):
        if senders[k] != k:
            return False
    return True


_everyone = jit(_everyone_impl) if numba_available() else None
_links = jit(_links_impl) if numba_available() else None


def by_receiver(slot: np.ndarray, rcv: np.ndarray, frac: np.ndarray, draw: np.ndarray, loss: float, loss_edge: float,
                n: int, senders: np.ndarray):
    """The links that survive their loss draw (draw >= loss + (loss_edge - loss) * frac^2, as
    Radio.broadcast's numpy) regrouped by receiver, ties in link order (a stable counting sort,
    where numpy's stable argsort costs a sort of ~100 links per drone): (receiver, sender,
    sender slot), the slot being the packet's row: rows are not copied here."""
    return _by_receiver(np.asarray(slot, np.int64), np.asarray(rcv, np.int64), np.asarray(frac, float),
                        np.asarray(draw, float), float(loss), float(loss_edge) - float(loss), int(n),
                        np.asarray(senders, np.int64))


def _by_receiver_impl(slot, rcv, frac, draw, loss, slope, n, senders):
    total = len(rcv)
    out_rcv, out_snd, out_slot = np.empty(total, np.int64), np.empty(total, np.int64), np.empty(total, np.int64)
    if _everyone(senders, n):
        # symmetric links (_links_impl): entry q, read backwards, is the link from rcv[q] to
        # slot[q], in the order wanted here; that link's own entry (and loss draw) is the next
        # one of sender rcv[q]'s run, as its receivers come in increasing order
        at = np.zeros(n + 1, np.int64)
        for e in range(total):
            at[slot[e] + 1] += 1
        for i in range(n):
            at[i + 1] += at[i]
        m = 0
        for q in range(total):
            s = rcv[q]
            e = at[s]
            at[s] = e + 1
            if draw[e] >= loss + slope * (frac[e] * frac[e]):
                out_rcv[m], out_snd[m], out_slot[m] = slot[q], s, s
                m += 1
        return out_rcv[:m], out_snd[:m], out_slot[:m]
    ok = np.empty(total, np.bool_)
    start = np.zeros(n + 1, np.int64)
    for e in range(total):
        ok[e] = draw[e] >= loss + slope * (frac[e] * frac[e])
        if ok[e]:
            start[rcv[e] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    m = start[n]
    for e in range(total):
        if ok[e]:
            q = start[rcv[e]]
            start[rcv[e]] = q + 1
            out_rcv[q] = rcv[e]
            out_slot[q] = slot[e]
            out_snd[q] = senders[slot[e]]
    return out_rcv[:m], out_snd[:m], out_slot[:m]


_by_receiver = jit(_by_receiver_impl) if numba_available() else None
