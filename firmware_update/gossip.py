"""Gossip baseline: epidemic rebroadcast with no acknowledgements and no structure.

Parameters (stated, not the paper's, which gives none): a targeted drone rebroadcasts a chunk
it hears for the first time with probability ``forward_p``; besides, every ``period`` (jittered
+-50 %) it pushes ``fanout`` chunks drawn at random from those it holds. The updater pushes the
same way but goes round its chunks in turn (random picks would leave one chunk unsent for
minutes: a coupon collector). Nodes never learn that their neighbours are done, so they keep pushing: the simulator
counts overhead up to the moment the last target completes. Drones outside the target do not
carry chunks (the same relay rule as SwarmSync).
"""
from __future__ import annotations

from dataclasses import dataclass

from .messages import BROADCAST, Chunk
from .participant import Participant


@dataclass(frozen=True)
class GossipParams:
    """Defaults: the fastest of a grid (forward_p 0.5/1, period 0.1/0.25/0.5 s, fanout 1/2/4) at N = 100."""
    forward_p: float = 0.5        # probability of rebroadcasting a chunk heard for the first time
    period: float = 0.5           # s between pushes (jittered)
    fanout: int = 4               # chunks per push


class GossipAgent(Participant):
    strategy = "gossip"
    params = GossipParams()

    def _adopted(self, now: float) -> None:
        self.forward: list[int] = []
        self.next_push = now
        self.cursor = 0

    def on_poll(self, now: float) -> list:
        p, out = self.params, []
        held = self.store.chunks
        while self.forward and len(out) < self.config.burst:
            k = self.forward.pop(0)
            if k in held:             # the store may have been cleared since (a blob that failed its digest)
                out.append((BROADCAST, Chunk(self.name, self.store.patch, k, held[k])))
        if now >= self.next_push and held:
            self.next_push = now + p.period * (0.5 + self.rng.random())
            if self.is_updater:       # the source goes round its chunks in turn
                picks = [(self.cursor + j) % self.store.n for j in range(p.fanout)]
                self.cursor = (self.cursor + p.fanout) % self.store.n
            else:
                picks = self.rng.sample(sorted(held), min(p.fanout, len(held)))
            out += [(BROADCAST, Chunk(self.name, self.store.patch, k, held[k])) for k in picks]
        return out

    def _on_chunk(self, chunk: Chunk, new: bool, now: float) -> None:
        if new and self.rng.random() < self.params.forward_p:
            self.forward.append(chunk.index)
