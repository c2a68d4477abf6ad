"""Read an MCAP file front to back as far as it is intact, without its index.

A recorder that is killed never writes the MCAP summary (index, statistics, footer, end magic),
and readers that start from the footer refuse the whole file. The data section before the cut
is still a sequence of complete records, so a forward scan recovers every message up to the
last complete one, including those of an uncompressed chunk cut in the middle. Each record's
length is checked against the bytes left before it is read, so a cut or a corrupt length never
yields a partial message or asks for more memory than the file holds.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

MAGIC = b"\x89MCAP0\r\n"
SCHEMA, CHANNEL, MESSAGE, CHUNK, METADATA, DATA_END, FOOTER = 0x03, 0x04, 0x05, 0x06, 0x0C, 0x0F, 0x02


class SalvageError(Exception):
    """Not an MCAP file at all (no magic at the start)."""


@dataclass
class Channel:
    id: int
    topic: str
    msgtype: str               # the schema's name
    encoding: str              # message encoding, e.g. cdr
    msgdef: str                # the schema's text (ros2msg or ros2idl)
    metadata: dict


@dataclass
class Scan:
    """What a forward scan found; filled while `messages()` runs."""
    size: int                                     # bytes in the file
    intact: int = 0                               # bytes of complete records read from the start
    complete: bool = False                        # the data section ended normally (DataEnd or Footer)
    channels: dict = field(default_factory=dict)  # channel id -> Channel
    metadata: dict = field(default_factory=dict)  # Metadata records by name (rosbag2 writes its own)
    messages: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    partial_chunk: bool = False                   # messages were taken from a chunk cut short
    problem: str = ""                             # why the scan stopped before the end, if it did

    @property
    def lost_bytes(self) -> int:
        return self.size - self.intact

    @property
    def seconds(self) -> float:
        return 0.0 if self.first_ns is None else (self.last_ns - self.first_ns) / 1e9


def _decompress(data: bytes, compression: str, size: int) -> bytes:
    if compression == "":
        return data
    if compression == "zstd":
        try:
            from compression import zstd            # Python 3.14
        except ImportError:
            try:
                from backports import zstd
            except ImportError:
                import zstandard
                return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
        return zstd.decompress(data)
    if compression == "lz4":
        from lz4.frame import decompress
        return decompress(data)
    raise ValueError(f"unknown chunk compression {compression!r}")


class _Buf:
    """Bounds-checked little-endian reads from bytes; IndexError when a field runs past the end."""

    def __init__(self, data: bytes | memoryview):
        self.data, self.pos = memoryview(data), 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise IndexError("field runs past the end of its record")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def text(self) -> str:
        return bytes(self.take(self.u32())).decode("utf-8", "replace")

    def mapping(self) -> dict:
        inner = _Buf(self.take(self.u32()))
        out = {}
        while inner.pos < len(inner.data):
            key = inner.text()
            out[key] = inner.text()
        return out


class Salvage:
    """Iterate over the intact messages of an MCAP file: `(channel, log_time_ns, data)`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.scan = Scan(self.path.stat().st_size)
        self._schemas: dict = {}
        self._consumed = 0                 # bytes of whole records read from the chunk being unpacked
        with open(self.path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise SalvageError(f"{self.path}: not an MCAP file (no MCAP magic at the start)")

    def messages(self) -> Iterator[tuple[Channel, int, bytes]]:
        scan = self.scan
        with open(self.path, "rb") as f:
            f.seek(len(MAGIC))
            scan.intact = len(MAGIC)
            while True:
                head = f.read(9)
                if len(head) < 9:
                    scan.problem = "cut between records" if head else ""
                    break
                op, length = head[0], struct.unpack("<Q", head[1:])[0]
                if length > scan.size - scan.intact - 9:
                    scan.problem = f"a record of {length} bytes is cut after {scan.size - scan.intact - 9}"
                    if op == CHUNK:
                        yield from self._partial_chunk(f.read(scan.size - scan.intact - 9))
                    break
                body = f.read(length)
                try:
                    if op == CHUNK:
                        yield from self._chunk(body)
                    else:
                        yield from self._record(op, body)
                except (IndexError, ValueError, struct.error, RuntimeError) as err:
                    scan.problem = f"a damaged record at byte {scan.intact}: {err}"
                    break
                scan.intact += 9 + length
                if op in (DATA_END, FOOTER):
                    scan.complete = True
                    break

    def _record(self, op: int, body: bytes) -> Iterator[tuple[Channel, int, bytes]]:
        b = _Buf(body)
        if op == SCHEMA:
            sid, name, _encoding = b.u16(), b.text(), b.text()
            self._schemas[sid] = (name, bytes(b.take(b.u32())).decode("utf-8", "replace"))
        elif op == CHANNEL:
            cid, sid, topic, encoding, meta = b.u16(), b.u16(), b.text(), b.text(), b.mapping()
            name, text = self._schemas.get(sid, ("", ""))
            self.scan.channels.setdefault(cid, Channel(cid, topic, name, encoding, text, meta))
        elif op == MESSAGE:
            cid, _seq, log_ns, _pub = b.u16(), b.u32(), b.u64(), b.u64()
            channel = self.scan.channels.get(cid)
            if channel is not None:
                s = self.scan
                s.messages += 1
                s.first_ns = log_ns if s.first_ns is None else min(s.first_ns, log_ns)
                s.last_ns = log_ns if s.last_ns is None else max(s.last_ns, log_ns)
                yield channel, log_ns, bytes(b.take(len(b.data) - b.pos))
        elif op == METADATA:
            name = b.text()
            self.scan.metadata[name] = b.mapping()

    def _inner(self, records: bytes, cut: bool) -> Iterator[tuple[Channel, int, bytes]]:
        """The records packed in a chunk; with `cut`, stop quietly at the first incomplete one."""
        b = _Buf(records)
        while b.pos < len(b.data):
            if cut and b.pos + 9 > len(b.data):
                return
            op, length = b.take(1)[0], b.u64()
            if cut and length > len(b.data) - b.pos:
                return
            yield from self._record(op, bytes(b.take(length)))
            self._consumed = b.pos

    def _chunk(self, body: bytes) -> Iterator[tuple[Channel, int, bytes]]:
        b = _Buf(body)
        b.u64(), b.u64()
        size, _crc, compression = b.u64(), b.u32(), b.text()
        data = bytes(b.take(b.u64()))
        # Messages are handed out only once the whole chunk decoded: a damaged one adds none.
        out = list(self._inner(_decompress(data, compression, size), cut=False))
        yield from out

    def _partial_chunk(self, body: bytes) -> Iterator[tuple[Channel, int, bytes]]:
        """An uncompressed chunk cut short still holds whole records up to the cut."""
        try:
            b = _Buf(body)
            b.u64(), b.u64(), b.u64(), b.u32()
            if b.text() != "":
                return
            b.u64()                                  # the records' full length, cut short here
            rest, start = bytes(b.data[b.pos:]), b.pos
        except (IndexError, struct.error):
            return
        before, self._consumed = self.scan.messages, 0
        try:
            yield from self._inner(rest, cut=True)
        except (IndexError, ValueError, struct.error):
            pass
        self.scan.partial_chunk = self.scan.messages > before
        if self.scan.partial_chunk:                  # what the cut chunk still gave counts as read
            self.scan.intact += 9 + start + self._consumed


def end_is_intact(path: str | Path) -> bool:
    """Whether an MCAP file ends with its magic (the writer closed it)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size < 2 * len(MAGIC):
            return False
        with open(p, "rb") as f:
            f.seek(size - len(MAGIC))
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
