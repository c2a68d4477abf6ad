"""SOUL baseline: BitTorrent-like chunk sharing decided by auctions among neighbours.

Our reading of SOUL (Varadharajan et al., Autonomous Robots 2020), whose parameters inside
SwarmUpdate are not published: a drone that lacks chunks broadcasts a request (a :class:`Need`
to BROADCAST carrying its bitmap) every ``request_period``. Every neighbour holding some of the
lacking chunks answers with a :class:`Bid` for them, priced by its load (chunks it has already
been awarded and not yet sent) plus a small random tie-breaker. After ``bid_window`` the
requester awards each lacking chunk, rarest first (fewest bidders), to the cheapest bidder, at
most ``batch`` chunks per round, charging each award to the winner's price so that work spreads
across bidders; winners broadcast the awarded chunks (neighbours overhear them). Chunks that do
not arrive are simply asked for again in the next round. No hierarchy, no leaders; the updater
is a seed that bids like any holder.
"""
from __future__ import annotations

from dataclasses import dataclass

from .chunks import bitmap, indices, missing
from .messages import BROADCAST, Award, Bid, Chunk, Message, Need
from .participant import Participant


@dataclass(frozen=True)
class SoulParams:
    request_period: float = 0.5   # s between requests (auction rounds) of a drone lacking chunks
    bid_window: float = 0.05      # s the requester collects bids before awarding
    batch: int = 16               # chunks awarded per round at most


class SoulAgent(Participant):
    strategy = "soul"
    params = SoulParams()

    def _adopted(self, now: float) -> None:
        self.sendq: list[int] = []
        self.bids: dict[int, list[tuple[float, str]]] = {}
        self.next_request = now
        self.award_at: float | None = None

    def on_message(self, msg: Message, now: float) -> list:
        n = self.store.n
        if isinstance(msg, Need) and msg.to == BROADCAST and msg.patch == self.store.patch:
            can = [k for k in missing(msg.have, n) if k in self.store.chunks]
            if can:
                price = len(self.sendq) + 0.1 * self.rng.random()
                return [(msg.sender, Bid(self.name, msg.sender, msg.patch, bitmap(can, n), price))]
        elif isinstance(msg, Bid) and msg.patch == self.store.patch and self.award_at is not None:
            for k in indices(msg.offer, n):
                if k not in self.store.chunks:
                    self.bids.setdefault(k, []).append((msg.price, msg.sender))
        elif isinstance(msg, Award) and msg.patch == self.store.patch:
            queued = set(self.sendq)
            self.sendq += [k for k in indices(msg.chunks, n) if k in self.store.chunks and k not in queued]
        return []

    def on_poll(self, now: float) -> list:
        out = []
        if self.award_at is not None and now >= self.award_at:
            out += self._award()
        if not self.store.complete and now >= self.next_request:
            self.next_request = now + self.params.request_period * (0.8 + 0.4 * self.rng.random())
            self.bids, self.award_at = {}, now + self.params.bid_window
            out.append((BROADCAST, Need(self.name, BROADCAST, self.store.patch, self.store.have_bitmap())))
        while self.sendq and len(out) < self.config.burst:
            k = self.sendq.pop(0)
            if k in self.store.chunks:    # the store may have been cleared since (a blob that failed its digest)
                out.append((BROADCAST, Chunk(self.name, self.store.patch, k, self.store.chunks[k])))
        return out

    def _award(self) -> list:
        self.award_at = None
        load: dict[str, float] = {}
        won: dict[str, list[int]] = {}
        wanted = [k for k in self.bids if k not in self.store.chunks]
        for k in sorted(wanted, key=lambda k: (len(self.bids[k]), k))[:self.params.batch]:
            price, who = min((p + load.get(s, 0.0), s) for p, s in self.bids[k])
            load[who] = load.get(who, 0.0) + 1.0
            won.setdefault(who, []).append(k)
        self.bids = {}
        n = self.store.n
        return [(who, Award(self.name, who, self.store.patch, bitmap(ks, n))) for who, ks in sorted(won.items())]
