"""Wire messages shared by SwarmSync and its baselines (Gossip, SOUL).

Every message is a small frozen dataclass with ``encode() -> bytes`` and ``decode(bytes)``; the
first byte names the kind, strings are length-prefixed UTF-8, numbers are little-endian. Sizes
matter: the network simulator charges airtime and energy by ``len(encode())``.

``to`` is a drone name or :data:`BROADCAST`. The patch blob itself is opaque here: only its id,
version, size, digest, the roots of its per-chunk hashes (see chunks.py) and target selector text
travel in an :class:`Offer`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, fields

from .chunks import layout

BROADCAST = "*"


class WireError(ValueError):
    """Bytes that are not a message of this protocol."""


class _Writer:
    def __init__(self):
        self.parts: list[bytes] = []

    def u8(self, v):
        self.parts.append(struct.pack("<B", v))

    def u16(self, v):
        self.parts.append(struct.pack("<H", v))

    def u32(self, v):
        self.parts.append(struct.pack("<I", v))

    def f32(self, v):
        self.parts.append(struct.pack("<f", v))

    def text(self, s: str):
        b = s.encode()
        if len(b) > 0xFFFF:
            raise WireError(f"string of {len(b)} bytes is too long for the wire (max 65535)")
        self.u16(len(b))
        self.parts.append(b)

    def blob(self, b: bytes):
        self.u32(len(b))
        self.parts.append(bytes(b))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = memoryview(data), 0

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise WireError("message truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self._take(1)[0]

    def u16(self):
        return struct.unpack("<H", self._take(2))[0]

    def u32(self):
        return struct.unpack("<I", self._take(4))[0]

    def f32(self):
        return struct.unpack("<f", self._take(4))[0]

    def text(self):
        try:
            return bytes(self._take(self.u16())).decode()
        except UnicodeDecodeError:
            raise WireError("string is not UTF-8") from None

    def blob(self):
        return bytes(self._take(self.u32()))


# Field codecs by annotation: each message is written field by field in declaration order.
_CODEC = {"str": ("text", "text"), "int": ("u32", "u32"), "float": ("f32", "f32"),
          "bytes": ("blob", "blob"), "bool": ("u8", "u8")}
_KINDS: dict[int, type] = {}


def _message(kind: int):
    def wrap(cls):
        cls = dataclass(frozen=True)(cls)
        cls.KIND = kind
        cls._codec = [(f.name, _CODEC[f.type]) for f in fields(cls)]
        _KINDS[kind] = cls
        return cls
    return wrap


class Message:
    KIND = 0
    _codec: list = []    # every message also has `sender` and `to` fields

    def encode(self) -> bytes:
        w = _Writer()
        w.u8(self.KIND)
        for name, (put, _) in self._codec:
            getattr(w, put)(getattr(self, name))
        return b"".join(w.parts)

    @staticmethod
    def decode(data: bytes) -> "Message":
        """Any message from its bytes; raises WireError on garbage."""
        r = _Reader(data)
        cls = _KINDS.get(r.u8())
        if cls is None:
            raise WireError(f"unknown message kind {data[0]}")
        out = cls(**{name: (bool(getattr(r, get)()) if cls.__dataclass_fields__[name].type == "bool"
                            else getattr(r, get)()) for name, (_, get) in cls._codec})
        if r.pos != len(data):
            raise WireError(f"{len(data) - r.pos} trailing bytes after a {cls.__name__}")
        return out


decode = Message.decode


@_message(1)
class Hello(Message):
    """Beacon of a drone taking part in an update: what its neighbours need to elect and route.

    ``seq`` counts hellos so receivers estimate link quality from gaps; ``score`` is the sender's
    leader score (see neighbours.leader_score); ``have`` is its chunk count of ``patch``.
    """
    sender: str
    seq: int
    group: str
    score: float
    battery: float
    leader: str
    patch: str
    have: int
    complete: bool
    to: str = BROADCAST


@_message(2)
class Offer(Message):
    """Announces a patch: id, version, size, chunking, SHA-256, the truncated SHA-256 of each
    hash-list chunk (``roots``, chunks.py: what every chunk is checked against) and the target
    selector text."""
    sender: str
    patch: str
    version: int
    size: int
    chunk_size: int
    digest: bytes
    roots: bytes
    selector: str
    to: str = BROADCAST

    @property
    def n_chunks(self) -> int:
        """Chunks on the wire: the hash list's and the blob's."""
        return sum(layout(self.size, self.chunk_size))


@_message(3)
class Need(Message):
    """Cumulative selective acknowledgement and request: ``have`` is the sender's chunk bitmap.

    Sent to a server (leader, updater, or BROADCAST for SOUL's requests). A complete bitmap
    unsubscribes the sender.
    """
    sender: str
    to: str
    patch: str
    have: bytes


@_message(4)
class Chunk(Message):
    """One chunk of a patch, broadcast so every neighbour that lacks it may keep it."""
    sender: str
    patch: str
    index: int
    data: bytes
    to: str = BROADCAST


@_message(5)
class Bid(Message):
    """SOUL: the sender offers to send chunks ``offer`` (bitmap) to ``to`` at cost ``price``."""
    sender: str
    to: str
    patch: str
    offer: bytes
    price: float


@_message(6)
class Award(Message):
    """SOUL: ``to`` won the auction for chunks ``chunks`` (bitmap) and should send them."""
    sender: str
    to: str
    patch: str
    chunks: bytes


@_message(7)
class Mixed(Message):
    """SwarmSync repair: the XOR of the chunks ``chunks`` (bitmap), each zero-padded to the longest.

    A drone that lacks exactly one of them and holds the others recovers the one it lacks
    (chunks.unmix) and checks it against its hash like any chunk, so one frame repairs several
    clients that each lost a different chunk.
    """
    sender: str
    patch: str
    chunks: bytes
    data: bytes
    to: str = BROADCAST


MESSAGE_TYPES = tuple(_KINDS.values())
