"""Gossip baseline: epidemic rebroadcast with no acknowledgements and no structure.

Parameters (stated, not the paper's, which gives none): a targeted drone rebroadcasts a chunk
it hears for the first time with probability ``forward_p``; besides, every ``period`` (jittered
+-50 %) it pushes ``fanout`` chunks drawn at random from those it holds. The updater pushes the
same way. Nodes never learn that their neighbours are done, so they keep pushing: the simulator
counts overhead up to the moment the last target completes. Drones outside the target do not
carry chunks (the same relay rule as SwarmSync).
"""
from __future__ import annotations

from dataclasses import dataclass

from .messages import BROADCAST, Chunk
from .participant import Participant


@dataclass(frozen=True)
class GossipParams:
    forward_p: float = 0.5
    period: float = 0.5
    fanout: int = 2


class GossipAgent(Participant):
    strategy = "gossip"
    params = GossipParams()

    def _adopted(self, now: float) -> None:
        self.forward: list[int] = []
        self.next_push = now

    def on_poll(self, now: float) -> list:
        p, out = self.params, []
        held = self.store.chunks
        while self.forward and len(out) < self.config.burst:
            k = self.forward.pop(0)
            out.append((BROADCAST, Chunk(self.name, self.store.patch, k, held[k])))
        if now >= self.next_push and held:
            self.next_push = now + p.period * (0.5 + self.rng.random())
            for k in self.rng.sample(sorted(held), min(p.fanout, len(held))):
                out.append((BROADCAST, Chunk(self.name, self.store.patch, k, held[k])))
        return out

    def _on_chunk(self, chunk: Chunk, new: bool, now: float) -> None:
        if new and self.rng.random() < self.params.forward_p:
            self.forward.append(chunk.index)
