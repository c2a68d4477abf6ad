"""Chunked reception of a blob (a patch) on disk that survives a kill and resumes.

Each chunk is written at its offset and fsynced before the set of chunks held is recorded
(atomically), so after a kill at any point the record never claims a chunk that is not on disk;
at worst a chunk is asked for again. The blob is handed over only once its SHA-256 matches.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .model import write_atomic


class Staging:
    def __init__(self, folder, blob_id: str, size: int, digest: str, chunk: int):
        if size <= 0 or chunk <= 0:
            raise ValueError(f"blob {blob_id}: size and chunk must be > 0")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.blob_id, self.size, self.digest, self.chunk = blob_id, int(size), digest, int(chunk)
        self.n_chunks = -(-self.size // self.chunk)
        self.data_path = self.folder / f"{blob_id}.part"
        self.meta_path = self.folder / f"{blob_id}.json"
        self.have: set[int] = set()
        meta = self._read_meta()
        if meta and (meta["size"], meta["digest"], meta["chunk"]) == (self.size, digest, self.chunk) \
                and self.data_path.exists():
            self.have = set(meta["have"])            # resume
        else:
            with open(self.data_path, "wb") as f:
                f.truncate(self.size)
            self._write_meta()

    def _read_meta(self) -> dict | None:
        try:
            return json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None

    def _write_meta(self) -> None:
        write_atomic(self.meta_path, json.dumps({"size": self.size, "digest": self.digest, "chunk": self.chunk,
                                                 "have": sorted(self.have)}).encode())

    def missing(self) -> list[int]:
        return [i for i in range(self.n_chunks) if i not in self.have]

    def progress(self) -> float:
        return len(self.have) / self.n_chunks

    def write(self, index: int, data: bytes) -> bool:
        """Store chunk `index`; True when the blob is complete."""
        if not 0 <= index < self.n_chunks:
            raise ValueError(f"blob {self.blob_id}: chunk {index} outside 0..{self.n_chunks - 1}")
        want = min(self.chunk, self.size - index * self.chunk)
        if len(data) != want:
            raise ValueError(f"blob {self.blob_id}: chunk {index} has {len(data)} bytes, expected {want}")
        if index not in self.have:
            fd = os.open(self.data_path, os.O_WRONLY)
            try:
                os.pwrite(fd, data, index * self.chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.have.add(index)
            self._write_meta()
        return len(self.have) == self.n_chunks

    def blob(self) -> bytes | None:
        """The complete blob if its hash is right; a mismatch discards everything received."""
        if len(self.have) != self.n_chunks:
            return None
        data = self.data_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.digest:
            self.have.clear()
            self._write_meta()
            return None
        return data

    def discard(self) -> None:
        for p in (self.data_path, self.meta_path):
            p.unlink(missing_ok=True)
