"""Forwarding in flight by drones a patch does not target (SwarmSync only).

A targeted drone that patrols out of radio reach of every other targeted drone can fetch from
nobody: it waits until it flies back. Untargeted drones are usually around it, so such an
*isolated* drone broadcasts its :class:`Need` addressed to :data:`RELAY` ("any relay"). An
untargeted drone that hears it, and that hears a targeted drone holding chunks (from its
hellos), becomes a relay for a while: it asks that holder for the chunks its isolated clients
lack (a Need whose bitmap marks everything else as held) and rebroadcasts each chunk it then
hears from the holder, one hop further.

A relay has no chunk store: it keeps at most ``window`` chunks queued for sending (far fewer
than a patch has) and drops each once sent, so it never holds the patch, never assembles,
verifies or installs it. It does not check chunks either (it cannot: blob chunks are checked
against the hash list, which it does not keep); the isolated drone checks every chunk on arrival
as always, so a relay can delay a transfer but not corrupt it. A chunk the relay overhears from
another relay leaves its queue (one copy per neighbourhood; a client still lacking it says so
in its next Need).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .chunks import bitmap, missing
from .messages import BROADCAST, Chunk, Hello, Need

RELAY = "@relay"        # the `to` of an isolated drone's Need: any untargeted drone in range


@dataclass
class Relay:
    name: str
    window: int = 16                # chunks queued at most (the patch has dozens)
    client_timeout: float = 1.0     # s: a client silent this long no longer needs this relay
    holder_timeout: float = 1.6     # s: a holder not heard this long is gone
    ack_period: float = 0.3         # s between Needs sent to the holder
    clients: dict[str, tuple[set, float]] = field(default_factory=dict)   # name -> (lacking, heard)
    holders: dict[str, tuple[int, float]] = field(default_factory=dict)   # name -> (chunks held, heard)
    queue: dict[int, bytes] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)   # index -> when this relay last sent it
    asked_at: float = -1e9
    forwarded: int = 0              # chunks rebroadcast
    peak: int = 0                   # most chunks held at once (never above `window`)

    def on_hello(self, h: Hello, patch: str, now: float) -> None:
        if h.patch == patch and h.have > 0 and not h.group.startswith(RELAY):
            self.holders[h.sender] = (h.have, now)

    def on_need(self, need: Need, n_chunks: int, now: float) -> None:
        lacking = set(missing(need.have, n_chunks))
        if lacking:
            self.clients[need.sender] = (lacking, now)
        else:
            self.clients.pop(need.sender, None)

    def on_chunk(self, chunk: Chunk) -> None:
        if chunk.sender in self.clients:
            return
        if chunk.sender not in self.holders:          # another relay sent it: one copy is enough
            self.queue.pop(chunk.index, None)
            return
        if chunk.index in self.queue or len(self.queue) >= self.window:
            return
        if chunk.index in self._wanted():
            self.queue[chunk.index] = chunk.data
            self.peak = max(self.peak, len(self.queue))

    def _wanted(self) -> set[int]:
        """Chunks some client lacks by a report newer than this relay's last send of them."""
        return {k for lacking, heard in self.clients.values() for k in lacking
                if self.sent_at.get(k, -1e9) < heard}

    def poll(self, patch: str, n_chunks: int, burst: int, now: float) -> list:
        for name in [k for k, (_, t) in self.clients.items() if now - t > self.client_timeout]:
            del self.clients[name]
        for name in [k for k, (_, t) in self.holders.items() if now - t > self.holder_timeout]:
            del self.holders[name]
        if not self.clients:
            self.queue.clear()
            return []
        out = []
        if self.holders and now - self.asked_at >= self.ack_period and len(self.queue) < self.window:
            self.asked_at = now
            holder = max(self.holders, key=lambda k: (self.holders[k][0], self.holders[k][1], k))
            # ask only for what the queue can take: the holder's burst must not overflow it
            room = self.window - len(self.queue)
            wanted = set(sorted(self._wanted() - set(self.queue))[:room])
            have = bitmap((k for k in range(n_chunks) if k not in wanted), n_chunks)
            out.append((holder, Need(self.name, holder, patch, have)))
        for k in list(self.queue)[:burst]:
            out.append((BROADCAST, Chunk(self.name, patch, k, self.queue.pop(k))))
            self.sent_at[k] = now
            self.forwarded += 1
        return out
