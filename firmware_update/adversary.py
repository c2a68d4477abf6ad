"""A hostile radio node for the network simulator: it answers every chunk it hears with a forgery.

The forgery has the same patch id, index and length as the chunk heard, random content, and is
broadcast at once, so every drone in range hears a wrong copy of each chunk the forger heard --
just after the real one, or instead of it where the real one did not reach. Without per-chunk
hashes (chunks.py) one stored forgery spoils the whole blob and the transfer restarts, again
and again; with them the forgery is refused and the chunk asked for again. Forgers send under
their own names (they do not spoof the sender), ignore one another (no echo storm), send nothing
else and never stop.
"""
from __future__ import annotations

import random

from .messages import BROADCAST, Chunk, Message

PREFIX = "forger"


class ChunkForger:
    """Host interface of a participant (``name``, ``handle``, ``poll``), behaviour of an attacker."""

    def __init__(self, k: int, seed: int = 0):
        self.name = f"{PREFIX}{k}"
        self.rng = random.Random(f"{seed}/{self.name}")
        self.forged = 0

    def handle(self, msg: Message, now: float) -> list[tuple[str, Message]]:
        if not isinstance(msg, Chunk) or msg.sender.startswith(PREFIX):
            return []
        self.forged += 1
        return [(BROADCAST, Chunk(self.name, msg.patch, msg.index, self.rng.randbytes(len(msg.data))))]

    def poll(self, now: float) -> list[tuple[str, Message]]:
        return []
