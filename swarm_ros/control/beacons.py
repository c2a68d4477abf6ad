"""A drone's memory of its neighbours: the latest beacon heard from each, forgotten when stale."""
from __future__ import annotations

import numpy as np

from .contract import Neighbours


class BeaconTable:
    """Latest beacon per sender for each of N receivers (N = 1 on a drone)."""

    def __init__(self, n: int, timeout: float):
        self.timeout = timeout
        self._latest: list[dict[int, tuple[float, np.ndarray]]] = [{} for _ in range(n)]

    def add(self, receiver: int, sender: int, stamp: float, beacon: np.ndarray) -> None:
        known = self._latest[receiver].get(sender)
        if known is None or known[0] <= stamp:
            self._latest[receiver][sender] = (stamp, beacon)

    def neighbours(self, t: float) -> Neighbours:
        """Fresh beacons (age <= timeout), per receiver sorted by sender."""
        counts, senders, stamps, beacons = [], [], [], []
        for table in self._latest:
            for s in [s for s, (stamp, _) in table.items() if t - stamp > self.timeout]:
                del table[s]
            order = sorted(table)
            counts.append(len(order))
            for s in order:
                stamp, beacon = table[s]
                senders.append(s)
                stamps.append(stamp)
                beacons.append(beacon)
        return Neighbours.from_beacons(counts, senders, stamps, beacons)


def beacon_interval(control_rate: float, beacon_rate: float) -> int:
    """Control ticks between two beacons of one drone."""
    return max(1, int(round(control_rate / beacon_rate)))


def beacon_due(tick: int, interval: int) -> bool:
    """Every drone broadcasts every `interval` ticks, all on the same ticks (one radio
    message per receiver per beacon period instead of one per tick)."""
    return tick % interval == 0
