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

The server picks one frame per poll (``SyncConfig.serve_burst``): the host polls again when
the radio falls idle, so each pick sees the latest Needs and overheard chunks instead of a
queue decided before them. When clients lost *different* chunks (repairs after loss or
collisions), one :class:`Mixed` frame -- the XOR of several chunks -- lets each client that
lacks exactly one of them recover it; the recovered chunk is checked against its hash like any
other, so a forged mix is refused, never stored. Clients lacking the same chunks get plain ones.

Client side: Needs are spaced by ``ack_period`` jittered per Need, so neighbouring clients (and
the repairs answering them) do not fall into lock-step and collide round after round at the
same drones; with only ``tail`` chunks left, a client acknowledges ``tail_factor`` times as
far apart (each repair waits on a Need, and Needs are small), and a server that answered
``retries`` Needs in a row with nothing is left for another holder at once instead of after
``server_timeout``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from .chunks import ChunkStore, bitmap, missing, mix
from .messages import Chunk, Mixed, Need


@dataclass
class Client:
    lacking: set[int]
    heard: float


@dataclass
class Server:
    name: str
    retx_guard: float = 0.05
    client_timeout: float = 3.0
    mix_max: int = 8                # chunks XORed into one repair frame at most (1: never mix)
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

    def next_chunks(self, store: ChunkStore, burst: int, now: float) -> list[Chunk | Mixed]:
        """Up to `burst` frames to broadcast now, most-wanted chunk first, each mixed with others
        when that repairs more clients at once (see :meth:`_mixable`)."""
        for name in [k for k, c in self.clients.items() if now - c.heard > self.client_timeout]:
            del self.clients[name]
        if not self.clients:
            return []
        want: dict[int, set[str]] = {}
        for name, c in self.clients.items():
            for k in c.lacking:
                # resend only on a report newer than the last send (plus the frame's flight time)
                if k in store.chunks and c.heard - self.sent_at.get(k, -1e9) >= self.retx_guard:
                    want.setdefault(k, set()).add(name)
        order = sorted(want, key=lambda k: (-len(want[k]), k))
        out: list[Chunk | Mixed] = []
        while order and len(out) < burst:
            group = self._mixable(order, want)
            order = [k for k in order if k not in group]
            for k in group:
                self.sent_at[k] = now
            if len(group) == 1:
                out.append(Chunk(self.name, store.patch, group[0], store.chunks[group[0]]))
            else:
                out.append(Mixed(self.name, store.patch, bitmap(group, store.n),
                                 mix(store.chunks[k] for k in group)))
        return out

    def _mixable(self, order: list[int], want: dict[int, set[str]]) -> list[int]:
        """The first chunk of `order`, plus each further wanted chunk that raises the number of
        clients able to recover a chunk they asked for (they lack exactly one of the set): a
        client lacking two of them recovers nothing from the frame. Clients that lack the same
        chunks (the first pass) get plain chunks; mixing pays off in repairs, where each client
        lost different chunks."""
        def gain(group: set[int]) -> int:
            n = 0
            for name, c in self.clients.items():
                lost = c.lacking & group
                if len(lost) == 1 and name in want.get(next(iter(lost)), ()):
                    n += 1
            return n
        group = {order[0]}
        best = gain(group)
        for k in order[1:]:
            if len(group) >= self.mix_max:
                break
            score = gain(group | {k})
            if score > best:
                group.add(k)
                best = score
        return sorted(group, key=order.index)


@dataclass
class Upstream:
    """The client side: whom this drone asks for chunks, and when to acknowledge."""
    ack_every: int = 8
    ack_period: float = 0.3
    server_timeout: float = 2.0
    tail: int = 0                   # lacking this many chunks or fewer, a server that answers nothing is left early
    retries: int = 2                # ... after this many Needs in a row that brought no new chunk
    tail_factor: float = 1.0        # ... and acknowledges this much more often (x ack_period)
    name: str | None = None
    unanswered: int = 0             # Needs sent since the last new chunk arrived
    jitter: float = 0.0             # the period varies by +- this fraction, drawn per Need from `rng`
    rng: random.Random | None = None
    period: float = 0.0             # the current period (ack_period, jittered)
    asked_at: float = -1e9
    since_ack: int = 0
    last_rx: float = -1e9
    chosen_at: float = -1e9
    shunned: dict[str, float] = field(default_factory=dict)   # server -> until when

    def choose(self, name: str | None, now: float) -> None:
        if name != self.name:
            self.name, self.chosen_at, self.asked_at, self.since_ack, self.unanswered = name, now, -1e9, 0, 0

    def on_chunk(self, sender: str, new: bool, now: float) -> None:
        if sender == self.name:
            self.last_rx = now
        if new:
            self.since_ack += 1
            self.unanswered = 0

    def waiting(self, now: float) -> None:
        """The server holds nothing this drone lacks yet: its silence is not a stall."""
        self.last_rx, self.unanswered = now, 0

    def stalled(self, now: float, lacking: int) -> bool:
        """The server got Needs for server_timeout but sent nothing: shun it for a while. With
        only a few chunks left, `retries` unanswered Needs are enough: near the end one lost
        exchange after another with one server (hidden neighbours colliding at this drone, or a
        lossy link) would otherwise hold the last chunks for seconds while others hold them."""
        if self.name is None:
            return False
        if lacking <= self.tail and self.unanswered >= self.retries:
            self.shunned[self.name] = now + self.server_timeout / 2
            return True
        if now - self.chosen_at < self.server_timeout:
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
        period = self.period or self.ack_period
        if store.n - len(store) <= self.tail:
            period *= self.tail_factor
        if self.since_ack < self.ack_every and now - self.asked_at < period:
            return None
        self.asked_at, self.since_ack = now, 0
        # jittered, so that the Needs of neighbouring clients (and the repairs that answer them)
        # do not fall into step and collide at the same drones round after round
        self.period = self.ack_period * (1.0 + self.jitter * (2.0 * self.rng.random() - 1.0)) if self.rng else 0.0
        self.unanswered += 1
        return Need(me, self.name, store.patch, store.have_bitmap())
