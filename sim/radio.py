"""Swarm radio model: broadcast packets reach drones in range, with per-link loss and latency.

A link i-j exists when the distance at send time is at most min(range_i, range_j). Each
packet on each link is lost independently with probability
`loss + (loss_at_range - loss) * (d / range_ij)^2` (so links degrade towards their edge), and
arrives `latency` seconds after it was sent. Senders are looked up with a KD-tree.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from . import radio_jit


@dataclass(frozen=True)
class RadioSpec:
    range: float | None = None        # m, caps every vehicle's own radio range; None = no cap
    loss: float = 0.0                 # loss probability of a short link
    loss_at_range: float | None = None  # loss probability at the edge of range (None = loss)
    latency: float = 0.0              # s
    beacon_rate: float = 10.0         # Hz, how often each drone broadcasts its beacon
    neighbour_timeout: float = 1.0    # s a drone remembers a neighbour's last beacon


@dataclass
class RadioStats:
    sent: int = 0          # packets broadcast
    links: int = 0         # packet copies that had a receiver in range
    lost: int = 0          # of those, dropped by the loss model
    delivered: int = 0     # handed to receivers

    def as_dict(self) -> dict:
        return {"sent": self.sent, "links": self.links, "lost": self.lost, "delivered": self.delivered}


class Delivery:
    """Packets due at one time: receiver and sender indices and packet rows, sorted by receiver.

    Packets sent as rows of one array may be held as that array (`sent`) and each delivered
    packet's row in it (`row`): a whole swarm's beacon round is then not copied out once per
    receiver; `packet` builds the rows when asked.
    """

    def __init__(self, receiver: np.ndarray, sender: np.ndarray, sent_at: np.ndarray, packet=None,
                 sent: np.ndarray | None = None, row: np.ndarray | None = None):
        self.receiver, self.sender, self.sent_at = receiver, sender, sent_at
        self.sent, self.row = sent, row
        self._packet = [] if packet is None and row is None else packet

    @property
    def packet(self):
        if self._packet is None:
            self._packet = self.sent[self.row]
        return self._packet

    def rows(self):
        """(rows, index): packet i is rows[index[i]], or rows[i] where index is None."""
        return (self.sent, self.row) if self.row is not None else (self.packet, None)


class Radio:
    def __init__(self, vehicle_ranges, spec: RadioSpec, rng: np.random.Generator):
        r = np.asarray(vehicle_ranges, float)
        self.range = np.minimum(r, spec.range) if spec.range is not None else r
        self.spec, self.rng = spec, rng
        self.loss_edge = spec.loss if spec.loss_at_range is None else spec.loss_at_range
        self.stats = RadioStats()
        self._queue: deque = deque()   # (due time, Delivery), in time order (latency is constant)

    def links(self, positions: np.ndarray, senders: np.ndarray):
        """All (sender, receiver, distance) with the receiver in range of the sender."""
        if len(senders) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
        if radio_jit.numba_available() and len(senders) >= radio_jit.MIN_SENDERS:
            found = radio_jit.links(positions, senders, self.range)
            if found is not None:
                return found
        # all pairs within the largest range in one query, then each link's own range below;
        # ordered by sender slot, then receiver (the loss draws follow this order)
        pairs = cKDTree(positions[senders]).sparse_distance_matrix(
            cKDTree(positions), float(self.range[senders].max()), output_type="ndarray")
        snd_slot, rcv = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
        order = np.argsort(snd_slot.astype(np.int64) * len(positions) + rcv)
        snd_slot, rcv = snd_slot[order], rcv[order]
        snd = senders[snd_slot]
        keep = rcv != snd
        snd_slot, snd, rcv = snd_slot[keep], snd[keep], rcv[keep]
        dist = np.linalg.norm(positions[snd] - positions[rcv], axis=1)
        rng_ij = np.minimum(self.range[snd], self.range[rcv])
        keep = dist <= rng_ij
        return snd_slot[keep], rcv[keep], dist[keep] / rng_ij[keep]

    def broadcast(self, t: float, positions: np.ndarray, senders, packets: list) -> None:
        """Send packets[k] from drone senders[k] at time t (positions at send time)."""
        senders = np.asarray(senders, dtype=np.intp)
        order = np.argsort(senders, kind="stable")   # loss draws must not depend on arrival order
        rows = isinstance(packets, np.ndarray)      # packets as rows of one array: kept an array
        senders, packets = senders[order], (packets[order] if rows else [packets[k] for k in order])
        self.stats.sent += len(senders)
        if len(senders) == 0:
            return
        slot, rcv, frac = self.links(positions, senders)
        self.stats.links += len(rcv)
        draw = self.rng.random(len(rcv))
        if rows and packets.ndim == 2 and radio_jit.numba_available() and len(senders) >= radio_jit.MIN_SENDERS:
            rcv, snd, row = radio_jit.by_receiver(slot, rcv, frac, draw, self.spec.loss, self.loss_edge,
                                                  len(positions), senders)
            self.stats.lost += len(slot) - len(rcv)
            self._queue.append((t + self.spec.latency,
                                Delivery(rcv, snd, np.full(len(rcv), t), sent=packets, row=row)))
            return
        p_loss = self.spec.loss + (self.loss_edge - self.spec.loss) * frac ** 2
        ok = draw >= p_loss
        self.stats.lost += int((~ok).sum())
        slot, rcv = slot[ok], rcv[ok]
        order = np.argsort(rcv, kind="stable")   # links come by slot (= sender order): now by receiver, sender
        slot, rcv = slot[order], rcv[order]
        delivery = Delivery(rcv, senders[slot], np.full(len(rcv), t), packets[slot] if rows else [packets[s] for s in slot])
        self._queue.append((t + self.spec.latency, delivery))

    def due(self, t: float, eps: float = 1e-9) -> list[Delivery]:
        """Deliveries whose arrival time has come, oldest first."""
        out = []
        while self._queue and self._queue[0][0] <= t + eps:
            d = self._queue.popleft()[1]
            self.stats.delivered += len(d.receiver)
            out.append(d)
        return out
