"""Chunk bookkeeping: bitmaps on the wire and a chunk store that survives a restart.

A drone keeps the chunks it has received in a :class:`ChunkStore`. Given a folder, every chunk
is written to its own file (write to a temporary name, then rename) so that a drone that is
killed or drops out mid-transfer resumes from the chunks it already holds instead of starting
over; without a folder the store lives in memory (the network simulator).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .atomic import write_atomic as _atomic_write


PATCH_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def valid_patch_id(patch: str) -> bool:
    """Patch ids come off the radio unauthenticated and name a folder: accept only plain names
    (letters, digits, '_' and '-'; the updaters use hex digests), never '..', '/' or an absolute path."""
    return isinstance(patch, str) and PATCH_ID.fullmatch(patch) is not None


def split(blob: bytes, chunk_size: int) -> list[bytes]:
    """The blob cut into chunks of `chunk_size` bytes (the last may be shorter; at least one)."""
    return [blob[i:i + chunk_size] for i in range(0, max(len(blob), 1), chunk_size)]


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


class ChunkStore:
    """Chunks of one patch (id, count, digest), in memory or persisted under `folder`."""

    def __init__(self, patch: str, n_chunks: int, size: int, digest: bytes, folder: str | Path | None = None):
        self.patch, self.n, self.size, self.digest = patch, n_chunks, size, digest
        self.chunks: dict[int, bytes] = {}
        if folder is not None and not valid_patch_id(patch):
            raise ValueError(f"patch id {patch!r} is not a plain name (letters, digits, _ and -)")
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self._load()

    # -- persistence -------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"patch": self.patch, "n_chunks": self.n, "size": self.size, "digest": self.digest.hex()}

    def _load(self) -> None:
        """Reuse chunks from an earlier run of the same patch; anything else in the folder is stale."""
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_file = self.folder / "transfer.json"
        try:
            same = json.loads(meta_file.read_text()) == self._meta()
        except (OSError, ValueError):
            same = False
        for f in self.folder.glob("chunk_*"):
            if not same or f.suffix == ".tmp":
                f.unlink()
                continue
            try:
                k = int(f.name[6:])
            except ValueError:
                continue
            if 0 <= k < self.n:
                self.chunks[k] = f.read_bytes()
        if not same:
            _atomic_write(meta_file, json.dumps(self._meta()).encode())

    # -- state ---------------------------------------------------------------------------------
    def add(self, index: int, data: bytes) -> bool:
        """Keep a chunk; False when it was already held or is out of range."""
        if not 0 <= index < self.n or index in self.chunks:
            return False
        self.chunks[index] = bytes(data)
        if self.folder is not None:
            _atomic_write(self.folder / f"chunk_{index}", data)
        return True

    def __contains__(self, index: int) -> bool:
        return index in self.chunks

    def __len__(self) -> int:
        return len(self.chunks)

    @property
    def complete(self) -> bool:
        return len(self.chunks) == self.n

    def have_bitmap(self) -> bytes:
        return bitmap(self.chunks, self.n)

    def lacking(self) -> list[int]:
        return [k for k in range(self.n) if k not in self.chunks]

    def assemble(self) -> bytes | None:
        """The whole blob if every chunk is held and the SHA-256 matches; else None.

        On a digest mismatch every chunk is dropped (one of them was bad and chunks carry no
        checksum of their own), so the transfer starts over rather than looping on a bad blob.
        """
        if not self.complete:
            return None
        blob = b"".join(self.chunks[k] for k in range(self.n))[:self.size]
        if hashlib.sha256(blob).digest() == self.digest:
            return blob
        self.clear()
        return None

    def clear(self) -> None:
        self.chunks.clear()
        if self.folder is not None:
            for f in self.folder.glob("chunk_*"):
                f.unlink()
