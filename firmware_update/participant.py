"""What every dissemination strategy shares: the offer, the chunk store, the finished blob.

A participant is the updater (holds the blob, installs nothing) or a drone. The host (ROS node
or network simulator) feeds it every received message with ``handle(msg, now)`` and calls
``poll(now)`` regularly (the simulator: whenever the drone's radio falls idle, and at least every
``poll_period``); both return ``[(dest, message), ...]`` to send, ``dest`` a drone name or
:data:`BROADCAST`. Times are seconds on any clock shared by one participant's calls.

Offer handling is the same for all strategies: a drone adopts the first offer it hears (or a
newer version), decides with the offer's :class:`TargetSelector` whether it is targeted, and
relays the offer once. Drones outside the target relay offers (a few dozen bytes) and never
store or install chunks (they have no chunk store); only SwarmSync lets them forward a few chunks
in flight for a targeted drone out of reach of every other one (relay.py). Every chunk is checked against its hash on arrival and a bad
one is dropped (chunks.py), so it is asked for again. A targeted drone that holds every chunk and
whose SHA-256 matches sets ``blob`` and calls ``on_complete(offer, blob)`` once -- the
installer's hook.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .chunks import HASH_BYTES, ChunkStore, layout, valid_patch_id
from .messages import BROADCAST, Chunk, Message, Offer, decode
from .selector import DroneIdentity, SelectorError, TargetSelector

UPDATER_GROUP = "@updater"


@dataclass(frozen=True)
class SyncConfig:
    """Timing and sizes; one config for a whole swarm. Defaults suit a ~1 Mbit/s radio."""
    chunk_size: int = 1024        # bytes of blob per Chunk
    hello_period: float = 0.5     # s between hellos (SwarmSync, SOUL)
    neighbour_timeout: float = 1.6  # s of silence after which a neighbour (a leader) is gone
    offer_period: float = 5.0     # s between re-offers by the updater and targeted drones
    poll_period: float = 0.1      # s: hosts call poll at least this often
    burst: int = 4                # chunks sent per poll at most
    serve_burst: int = 1          # SwarmSync: chunks a server picks per poll (frame by frame, see serving.py); 1 suits
    #                               hosts that poll again when the radio falls idle (the simulator), not timer-only ones
    ack_every: int = 8            # SwarmSync: new chunks between acknowledgements
    ack_period: float = 0.3       # SwarmSync: s between Needs while chunks are missing
    ack_jitter: float = 0.3       # SwarmSync: ack_period varies by +- this fraction (no lock-step between clients)
    tail: int = 8                 # SwarmSync: lacking this many chunks or fewer, a client leaves a server after
    #                               two Needs that brought nothing
    tail_ack: float = 0.5         # SwarmSync: ... and spaces its Needs by this fraction of ack_period
    first_hello_at: int = 1       # SwarmSync: a drone beacons at once when it holds this many chunks (0: never)
    mix_max: int = 8              # SwarmSync: chunks XORed into one repair frame at most (1: plain chunks only)
    retx_guard: float = 0.05      # SwarmSync: s a Need must postdate a send to ask for it again
    client_timeout: float = 3.0   # SwarmSync: s of client silence before it is dropped
    server_timeout: float = 2.0   # SwarmSync: s of server silence before it is shunned
    hysteresis: float = 0.2       # SwarmSync: a sitting leader's score bonus
    leader_patience: float = 0.0  # SwarmSync: s a member waits on a leader with nothing new while a neighbour
    #                               has chunks (2.0 sent fewer bytes at N <= 100, was slower at N = 300)

    @classmethod
    def timer_polled(cls, **fields) -> "SyncConfig":
        """For hosts that poll only every poll_period (the ROS update nodes), not again when the
        radio falls idle: a SwarmSync server there picks up to `burst` chunks a poll, since one a
        poll would cap it at 1 / poll_period chunks a second."""
        return cls(serve_burst=cls.burst, **fields)


def identity_of(name: str) -> DroneIdentity:
    return DroneIdentity(name, UPDATER_GROUP, UPDATER_GROUP, UPDATER_GROUP)


class Participant:
    strategy = "base"

    def __init__(self, identity: DroneIdentity, config: SyncConfig = SyncConfig(), seed: int = 0,
                 store_dir: str | Path | None = None, on_complete: Callable[[Offer, bytes], None] | None = None):
        self.identity, self.name, self.config = identity, identity.name, config
        self.group = f"{identity.type}/{identity.role}"
        self.rng = random.Random(f"{seed}/{identity.name}")
        self.store_dir = Path(store_dir) if store_dir is not None else None
        self.on_complete = on_complete
        self.battery = 1.0            # 0..1, SwarmSync leader score; no host sets it yet (netsim, ROS)
        self.is_updater = False
        self.offer: Offer | None = None
        self.targeted = False
        self.store: ChunkStore | None = None
        self.blob: bytes | None = None
        self.completed_at: float | None = None
        self.next_offer = float("inf")

    @classmethod
    def updater(cls, name: str, blob: bytes, patch: str, version: int, selector: str,
                config: SyncConfig = SyncConfig(), seed: int = 0) -> "Participant":
        """The source of a patch: offers it, serves it, installs nothing."""
        me = cls(identity_of(name), config, seed)
        me.is_updater = True
        TargetSelector.parse(selector)          # refuse a bad selector here, not on the drones
        me.store = ChunkStore.complete_from(patch, blob, config.chunk_size)
        me.offer = Offer(name, patch, version, len(blob), config.chunk_size, me.store.digest, me.store.roots, selector)
        me.blob, me.next_offer = blob, -1.0
        me._adopted(0.0)
        return me

    # -- host interface ----------------------------------------------------------------------
    def handle(self, msg: Message | bytes, now: float) -> list[tuple[str, Message]]:
        if isinstance(msg, (bytes, bytearray, memoryview)):
            msg = decode(bytes(msg))
        if msg.sender == self.name:
            return []
        if isinstance(msg, Offer):
            return self._on_offer(msg, now)
        if self.store is None:
            return self.on_untargeted(msg, now) if self.offer is not None else []
        if msg.to not in (BROADCAST, self.name):
            return []
        if isinstance(msg, Chunk):
            if msg.patch == self.store.patch:
                self._on_chunk(msg, self._keep(msg, now), now)
            return []
        return self.on_message(msg, now)

    def poll(self, now: float) -> list[tuple[str, Message]]:
        out = []
        if self.offer is not None and now >= self.next_offer and (self.is_updater or self.targeted):
            out.append((BROADCAST, replace(self.offer, sender=self.name)))
            self.next_offer = now + self.config.offer_period * (0.8 + 0.4 * self.rng.random())
        if self.store is not None:
            out += self.on_poll(now)
        elif self.offer is not None:
            out += self.on_untargeted_poll(now)
        return out

    @property
    def progress(self) -> float:
        """Fraction of the blob held (0 before an offer, or when not targeted)."""
        return len(self.store) / self.store.n if self.store is not None else 0.0

    # -- strategy hooks ---------------------------------------------------------------------
    def on_message(self, msg: Message, now: float) -> list[tuple[str, Message]]:
        return []

    def on_poll(self, now: float) -> list[tuple[str, Message]]:
        return []

    def on_untargeted(self, msg: Message, now: float) -> list[tuple[str, Message]]:
        """Any non-offer message heard by a drone the current patch does not target."""
        return []

    def on_untargeted_poll(self, now: float) -> list[tuple[str, Message]]:
        return []

    def _on_chunk(self, chunk: Chunk, new: bool, now: float) -> None:
        """Called for every chunk of the current patch heard (new: it was not held before)."""

    # -- shared mechanics --------------------------------------------------------------------
    def _on_offer(self, offer: Offer, now: float) -> list[tuple[str, Message]]:
        cur = self.offer
        if self.is_updater or (cur is not None and (offer.patch == cur.patch or offer.version <= cur.version)):
            return []
        if not valid_patch_id(offer.patch):         # the id names a folder: no '..' or '/'
            return []
        if offer.chunk_size <= 0 or offer.size > 0xFFFF * offer.chunk_size or len(offer.digest) != 32:
            return []
        if len(offer.roots) != layout(offer.size, offer.chunk_size)[0] * HASH_BYTES:
            return []
        try:
            selector = TargetSelector.parse(offer.selector)
        except SelectorError:
            return []
        self.offer, self.blob, self.completed_at = offer, None, None
        self.targeted = selector.matches(self.identity)
        self.store = None
        if self.targeted:
            folder = self.store_dir / offer.patch if self.store_dir is not None else None
            self.store = ChunkStore(offer.patch, offer.size, offer.chunk_size, offer.digest, offer.roots, folder)
            self.next_offer = now + self.config.offer_period * (0.8 + 0.4 * self.rng.random())
            self._adopted(now)
            self._finish(now)        # resumed from disk with every chunk
        return [(BROADCAST, replace(offer, sender=self.name))]

    def _adopted(self, now: float) -> None:
        """A new targeted offer was adopted (strategy state resets here)."""

    def _keep(self, chunk: Chunk, now: float) -> bool:
        new = self.store.add(chunk.index, chunk.data)
        if new and self.store.complete:
            self._finish(now)
        return new

    def _finish(self, now: float) -> None:
        if self.blob is not None or self.is_updater or not self.store.complete:
            return
        blob = self.store.assemble()
        if blob is None:
            return
        self.blob, self.completed_at = blob, now
        if self.on_complete is not None:
            self.on_complete(self.offer, blob)
