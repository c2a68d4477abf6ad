"""What a drone knows of its one-hop neighbours, learnt only from their Hello beacons.

Link quality is the fraction of a neighbour's hellos that arrive, tracked as an exponentially
weighted average over hello sequence numbers (a gap of k counts as k - 1 losses and one arrival) and decayed while
the neighbour stays silent. Nothing here needs the host: no RSSI, no positions.

Leader rule (SwarmSync): a drone's score is ``battery * (1 + sum of link qualities to alive
neighbours of its own sub-swarm)`` -- a leader should reach many of its members well and last
long. A drone leads when no alive neighbour of its sub-swarm advertises a higher score (ties go
to the smaller name); a sitting leader keeps the role until a non-leader beats it by
``hysteresis`` (between two leaders the plain scores decide, so start-up leaders thin out).
A member stays with its leader while that one is alive and leading; otherwise it follows the
alive leader of its sub-swarm with the best link, or, with none in range, the best-scoring
neighbour of its sub-swarm. When a leader falls silent for ``timeout`` it drops
out of every table and the same rule elects the next best: re-election needs no extra message.
"""
from __future__ import annotations

from dataclasses import dataclass

from .messages import Hello


@dataclass
class Neighbour:
    hello: Hello
    heard: float
    quality: float


class NeighbourTable:
    def __init__(self, hello_period: float, timeout: float, alpha: float = 0.25):
        self.period, self.timeout, self.alpha = hello_period, timeout, alpha
        self.table: dict[str, Neighbour] = {}

    def on_hello(self, h: Hello, now: float) -> None:
        n = self.table.get(h.sender)
        if n is None or h.seq <= n.hello.seq:     # new, or the sender restarted its counter
            self.table[h.sender] = Neighbour(h, now, 0.5 if n is None else n.quality)
            return
        # (gap - 1) losses then one arrival: q <- q (1 - a)^gap + a
        n.quality = n.quality * (1.0 - self.alpha) ** (h.seq - n.hello.seq) + self.alpha
        n.hello, n.heard = h, now

    def quality(self, name: str, now: float) -> float:
        n = self.table.get(name)
        if n is None:
            return 0.0
        missed = max(0.0, (now - n.heard) / self.period - 1.0)
        return min(1.0, n.quality) * (1.0 - self.alpha) ** missed

    def alive(self, now: float) -> list[Neighbour]:
        """Neighbours heard within the timeout (the dead are forgotten here)."""
        dead = [k for k, n in self.table.items() if now - n.heard > self.timeout]
        for k in dead:
            del self.table[k]
        return list(self.table.values())

    def group_members(self, group: str, now: float) -> list[Neighbour]:
        return [n for n in self.alive(now) if n.hello.group == group]

    def score(self, group: str, battery: float, now: float) -> float:
        return battery * (1.0 + sum(self.quality(n.hello.sender, now) for n in self.group_members(group, now)))

    def elect(self, me: str, group: str, my_score: float, current: str | None, hysteresis: float,
              now: float) -> str:
        """The leader this drone follows in its sub-swarm (its own name when it leads).

        `current` is the leader it follows now: a member stays with it while it is alive and
        still leading, so lost hellos do not make members hop between leaders.
        """
        peers = self.group_members(group, now)
        bonus = 1.0 + hysteresis if current == me else 1.0

        def beats(n: Neighbour) -> bool:     # two sitting leaders compare plain scores
            mine = my_score if n.hello.leader == n.hello.sender else my_score * bonus
            return (mine, _neg(me)) > (n.hello.score, _neg(n.hello.sender))
        if all(beats(n) for n in peers):
            return me
        leaders = [n for n in peers if n.hello.leader == n.hello.sender]
        if any(n.hello.sender == current for n in leaders):
            return current
        if leaders:
            best = max(leaders, key=lambda n: (self.quality(n.hello.sender, now), n.hello.score, _neg(n.hello.sender)))
        else:
            best = max(peers, key=lambda n: (n.hello.score, _neg(n.hello.sender)))
        return best.hello.sender


def _neg(name: str) -> tuple:
    """Sort key under which the smaller name is the larger (ties go to the smaller name)."""
    return tuple(-ord(c) for c in name) + (1,)
