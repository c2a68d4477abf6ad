"""Acknowledged chunk transfer between one server and its clients (selective repeat).

A client tells its server which chunks it holds with a :class:`Need` (a bitmap): at the start,
after every ``ack_every`` new chunks and every ``ack_period`` while it still lacks chunks, so a
Need is both the acknowledgement and the retransmission request. The server broadcasts, one
by one, the chunks its clients lack -- the one most clients lack first. A chunk already sent is
sent again only when a client reports it missing in a Need heard at least ``retx_guard`` after
that send (the frame's time in flight): retransmissions follow fresh acknowledgements, never
stale ones. A chunk the server overhears from a neighbour counts as sent by it: its clients
mostly heard that copy too, and those that did not say so in their next Need. One broadcast
serves every client (and every overhearing drone) that lacks it. A client silent for ``client_timeout`` is dropped; it
subscribes again with its next Need, which is how a drone that dropped out resumes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .chunks import ChunkStore, missing
from .messages import Chunk, Need


@dataclass
class Client:
    lacking: set[int]
    heard: float


@dataclass
class Server:
    name: str
    retx_guard: float = 0.05
    client_timeout: float = 3.0
    clients: dict[str, Client] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)

    def on_need(self, need: Need, n_chunks: int, now: float) -> None:
        lacking = set(missing(need.have, n_chunks))
        if lacking:
            self.clients[need.sender] = Client(lacking, now)
        else:
            self.clients.pop(need.sender, None)

    def overheard(self, index: int, now: float) -> None:
        """A neighbour just broadcast chunk `index`: send it again only on a newer Need."""
        self.sent_at[index] = max(self.sent_at.get(index, -1e9), now)

    def next_chunks(self, store: ChunkStore, burst: int, now: float) -> list[Chunk]:
        """Up to `burst` chunks to broadcast now, most-wanted first."""
        for name in [k for k, c in self.clients.items() if now - c.heard > self.client_timeout]:
            del self.clients[name]
        if not self.clients:
            return []
        want: dict[int, int] = {}
        for c in self.clients.values():
            for k in c.lacking:
                # resend only on a report newer than the last send (plus the frame's flight time)
                if k in store.chunks and c.heard - self.sent_at.get(k, -1e9) >= self.retx_guard:
                    want[k] = want.get(k, 0) + 1
        picks = sorted(want, key=lambda k: (-want[k], k))[:burst]
        for k in picks:
            self.sent_at[k] = now
        return [Chunk(self.name, store.patch, k, store.chunks[k]) for k in picks]


@dataclass
class Upstream:
    """The client side: whom this drone asks for chunks, and when to acknowledge."""
    ack_every: int = 8
    ack_period: float = 0.3
    server_timeout: float = 2.0
    name: str | None = None
    asked_at: float = -1e9
    since_ack: int = 0
    last_rx: float = -1e9
    chosen_at: float = -1e9
    shunned: dict[str, float] = field(default_factory=dict)   # server -> until when

    def choose(self, name: str | None, now: float) -> None:
        if name != self.name:
            self.name, self.chosen_at, self.asked_at, self.since_ack = name, now, -1e9, 0

    def on_chunk(self, sender: str, new: bool, now: float) -> None:
        if sender == self.name:
            self.last_rx = now
        if new:
            self.since_ack += 1

    def waiting(self, now: float) -> None:
        """The server holds nothing this drone lacks yet: its silence is not a stall."""
        self.last_rx = now

    def stalled(self, now: float) -> bool:
        """The server got Needs for server_timeout but sent nothing: shun it for a while."""
        if self.name is None or now - self.chosen_at < self.server_timeout:
            return False
        if now - max(self.last_rx, self.chosen_at) < self.server_timeout:
            return False
        self.shunned[self.name] = now + 2 * self.server_timeout
        return True

    def usable(self, name: str, now: float) -> bool:
        return self.shunned.get(name, -1e9) <= now

    def need(self, me: str, store: ChunkStore, now: float) -> Need | None:
        """A Need for the current server when an acknowledgement is due."""
        if self.name is None or store.complete:
            return None
        if self.since_ack < self.ack_every and now - self.asked_at < self.ack_period:
            return None
        self.asked_at, self.since_ack = now, 0
        return Need(me, self.name, store.patch, store.have_bitmap())
