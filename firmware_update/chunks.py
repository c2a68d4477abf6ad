"""Chunk bookkeeping: the chunk layout with per-chunk hashes, bitmaps, and a verifying chunk store.

Chunks come off the radio unauthenticated, so every chunk is checked on arrival against a hash
the :class:`~firmware_update.messages.Offer` vouches for, and a bad one is refused (not stored,
so it is simply asked for again) instead of poisoning the whole transfer. Layout of a patch of
``size`` bytes cut into ``chunk_size``-byte pieces (:func:`encode`):

* indices ``0 .. m-1`` carry the **hash list**: the first ``HASH_BYTES`` of the SHA-256 of every
  blob chunk, concatenated and cut into chunks like the blob (``m`` = 1 for up to 64 KiB at
  1 KiB chunks, 2 for the 71 kB patch);
* indices ``m ..`` carry the blob itself;
* the Offer carries ``roots``, the truncated SHA-256 of each hash-list chunk (16 bytes per 64 KiB
  of blob at 1 KiB chunks), besides the whole-blob SHA-256 ``digest``.

A hash-list chunk is checked against ``roots``, a blob chunk against the hash list; a blob chunk
heard before the hash list is complete waits in memory (a few candidates per index, never on
disk, never served or acknowledged) and is checked once the list is in. All strategies share this
layout, so the overhead (one extra chunk per 64 KiB and a few Offer bytes) is the same for each.
``HASH_BYTES`` = 16: forging a chunk means a second preimage of a 128-bit truncated SHA-256 (even
against all 65,535 indices at once, about 2^112 hashes); collisions do not matter because the
attacker does not choose the honest chunks. The whole-blob ``digest`` is still checked on
assembly, and the installer still checks the patch signature.

Given a folder, every verified chunk is written to its own file (write to a temporary name, then
rename) so that a drone that is killed or drops out mid-transfer resumes from the chunks it
already holds (re-verified on load) instead of starting over; without a folder the store lives in
memory (the network simulator).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .atomic import write_atomic as _atomic_write

HASH_BYTES = 16        # truncated SHA-256 per chunk (see the module docstring)
PENDING_PER_INDEX = 3  # unverifiable candidates kept per blob chunk while the hash list is missing
PATCH_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def valid_patch_id(patch: str) -> bool:
    """Patch ids come off the radio unauthenticated and name a folder: accept only plain names
    (letters, digits, '_' and '-'; the updaters use hex digests), never '..', '/' or an absolute path."""
    return isinstance(patch, str) and PATCH_ID.fullmatch(patch) is not None


def split(blob: bytes, chunk_size: int) -> list[bytes]:
    """The blob cut into chunks of `chunk_size` bytes (the last may be shorter; at least one)."""
    return [blob[i:i + chunk_size] for i in range(0, max(len(blob), 1), chunk_size)]


def chunk_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:HASH_BYTES]


def layout(size: int, chunk_size: int) -> tuple[int, int]:
    """(hash-list chunks, blob chunks) of a `size`-byte blob."""
    n_blob = max(1, -(-size // chunk_size))
    return -(-n_blob * HASH_BYTES // chunk_size), n_blob


def encode(blob: bytes, chunk_size: int) -> tuple[list[bytes], bytes]:
    """Every chunk to transfer (hash list first, then the blob) and the Offer's `roots`."""
    body = split(blob, chunk_size)
    head = split(b"".join(chunk_hash(c) for c in body), chunk_size)
    return head + body, b"".join(chunk_hash(c) for c in head)


def bitmap(indices, n: int) -> bytes:
    """Bit k (LSB first within each byte) set for every index k < n in `indices`."""
    out = bytearray((n + 7) // 8)
    for k in indices:
        out[k >> 3] |= 1 << (k & 7)
    return bytes(out)


def indices(bits: bytes, n: int) -> list[int]:
    """The set bits of a bitmap, below n, in increasing order."""
    return [k for k in range(min(n, len(bits) * 8)) if bits[k >> 3] >> (k & 7) & 1]


def missing(bits: bytes, n: int) -> list[int]:
    """The clear bits of a bitmap below n (a short bitmap lacks its tail)."""
    return [k for k in range(n) if (k >> 3) >= len(bits) or not bits[k >> 3] >> (k & 7) & 1]


def mix(parts) -> bytes:
    """The XOR of byte strings, each zero-padded to the longest."""
    parts = list(parts)
    width = max(len(p) for p in parts)
    acc = 0
    for p in parts:
        acc ^= int.from_bytes(p, "little")
    return acc.to_bytes(width, "little")


def unmix(data: bytes, others, length: int) -> bytes:
    """The one part missing from a :func:`mix` of it and `others`, cut to its `length` bytes."""
    return mix([data, *others])[:length].ljust(length, b"\0")


class ChunkStore:
    """Verified chunks of one patch (id, size, chunking, digest, roots), in memory or under `folder`.

    ``n`` counts every chunk of the layout (hash list and blob); ``refused`` counts chunks that
    failed their hash check.
    """

    def __init__(self, patch: str, size: int, chunk_size: int, digest: bytes, roots: bytes,
                 folder: str | Path | None = None):
        self.patch, self.size, self.chunk_size, self.digest, self.roots = patch, size, chunk_size, digest, roots
        self.m, n_blob = layout(size, chunk_size)
        self.n = self.m + n_blob
        if len(roots) != self.m * HASH_BYTES:
            raise ValueError(f"roots of {len(roots)} bytes, expected {self.m * HASH_BYTES} for {size} bytes "
                             f"in {chunk_size}-byte chunks")
        self.chunks: dict[int, bytes] = {}
        self.pending: dict[int, list[bytes]] = {}
        self.hashes: bytes | None = None       # the hash list, once every hash-list chunk is held
        self.refused = 0
        if folder is not None and not valid_patch_id(patch):
            raise ValueError(f"patch id {patch!r} is not a plain name (letters, digits, _ and -)")
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self._load()

    @classmethod
    def complete_from(cls, patch: str, blob: bytes, chunk_size: int) -> "ChunkStore":
        """The updater's store: every chunk of `blob`, held."""
        parts, roots = encode(blob, chunk_size)
        me = cls(patch, len(blob), chunk_size, hashlib.sha256(blob).digest(), roots)
        for k, part in enumerate(parts):
            me.add(k, part)
        return me

    # -- persistence -------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"patch": self.patch, "size": self.size, "chunk_size": self.chunk_size,
                "digest": self.digest.hex(), "roots": self.roots.hex(), "hash_bytes": HASH_BYTES}

    def _load(self) -> None:
        """Reuse chunks from an earlier run of the same patch that still verify; drop the rest."""
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_file = self.folder / "transfer.json"
        try:
            same = json.loads(meta_file.read_text()) == self._meta()
        except (OSError, ValueError):
            same = False
        found: dict[int, bytes] = {}
        for f in self.folder.glob("chunk_*"):
            k = int(f.name[6:]) if same and f.name[6:].isdigit() else -1
            if 0 <= k < self.n:
                found[k] = f.read_bytes()
            else:
                f.unlink()
        for k in sorted(found):             # hash list first: blob chunks are checked against it
            if self._verify(k, found[k]):
                self._hold(k, found[k])
            else:
                (self.folder / f"chunk_{k}").unlink()
        if not same:
            _atomic_write(meta_file, json.dumps(self._meta()).encode())

    # -- state ---------------------------------------------------------------------------------
    def _verify(self, index: int, data: bytes) -> bool | None:
        """True/False: the chunk matches its hash or not; None: no hash list to check it yet."""
        if index < self.m:
            expect = self.roots[index * HASH_BYTES:(index + 1) * HASH_BYTES]
        elif self.hashes is None:
            return None
        else:
            k = index - self.m
            expect = self.hashes[k * HASH_BYTES:(k + 1) * HASH_BYTES]
        return chunk_hash(data) == expect

    def _hold(self, index: int, data: bytes) -> None:
        self.chunks[index] = data
        if index < self.m and self.hashes is None and all(k in self.chunks for k in range(self.m)):
            self.hashes = b"".join(self.chunks[k] for k in range(self.m))

    def add(self, index: int, data: bytes) -> bool:
        """Keep a chunk if it verifies; False when it was already held, out of range, refused, or
        waiting for the hash list."""
        if not 0 <= index < self.n or index in self.chunks:
            return False
        data = bytes(data)
        ok = self._verify(index, data)
        if ok is None:
            waiting = self.pending.setdefault(index, [])
            if data not in waiting and len(waiting) < PENDING_PER_INDEX:
                waiting.append(data)
            return False
        if not ok:
            self.refused += 1
            return False
        self._store(index, data)
        if self.hashes is not None and self.pending:
            waiting, self.pending = self.pending, {}
            for k, candidates in sorted(waiting.items()):
                good = [c for c in candidates if self._verify(k, c)]
                self.refused += len(candidates) - len(good)
                if good and k not in self.chunks:
                    self._store(k, good[0])
        return True

    def _store(self, index: int, data: bytes) -> None:
        self._hold(index, data)
        if self.folder is not None:
            _atomic_write(self.folder / f"chunk_{index}", data)

    def __contains__(self, index: int) -> bool:
        return index in self.chunks

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def complete(self) -> bool:
        return len(self.chunks) == self.n

    def length(self, index: int) -> int:
        """Bytes of chunk `index` (the last of the hash list and of the blob may be short)."""
        if index < self.m:
            return min(self.chunk_size, (self.n - self.m) * HASH_BYTES - index * self.chunk_size)
        return max(0, min(self.chunk_size, self.size - (index - self.m) * self.chunk_size))

    def have_bitmap(self) -> bytes:
        return bitmap(self.chunks, self.n)

    def lacking(self) -> list[int]:
        return [k for k in range(self.n) if k not in self.chunks]

    def assemble(self) -> bytes | None:
        """The whole blob if every chunk is held and the SHA-256 matches; else None.

        Every chunk was verified on arrival, so a mismatch here means an offer whose digest does
        not fit its roots (not from an honest updater): the chunks are dropped all the same.
        """
        if not self.complete:
            return None
        blob = b"".join(self.chunks[k] for k in range(self.m, self.n))[:self.size]
        if hashlib.sha256(blob).digest() == self.digest:
            return blob
        self.clear()
        return None

    def clear(self) -> None:
        self.chunks.clear()
        self.pending.clear()
        self.hashes = None
        if self.folder is not None:
            for f in self.folder.glob("chunk_*"):
                f.unlink()
