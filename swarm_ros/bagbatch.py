"""Many messages into a rosbags Writer at once, for recorders that take thousands a second.

rosbags' `Writer.write` costs about 14 us a message at 400 connections: it looks the
connection up in a list, then the MCAP storage builds each record in its own BytesIO. A
recorder instead queues (connection id, log time, CDR bytes) and calls `flush`, which packs a
batch's MCAP message records with one struct call each and appends them to the open chunk in
one write, keeping the writer's counts, time range and chunk index exactly as `write` would:
the file is the same as if each message had been written alone. Other storages (sqlite3), or a
rosbags whose MCAP writer lacks the state this relies on, get `Writer.write` per message.
"""
from __future__ import annotations

import struct
from collections import Counter

from rosbags.rosbag2 import Writer

# MCAP Message record: opcode, record length, channel id, sequence, log time, publish time
_MESSAGE = struct.Struct("<BQHIQQ")
_BODY = _MESSAGE.size - 9          # record length without the message bytes
_OPCODE = 0x05
CHUNK_BYTES = 2**20                # rosbags closes a chunk past this size; so do we


class BatchWriter:
    """Queue with `add`, write with `flush`; `writer` must be open (connections may come later)."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self.pending: list[tuple[int, int, bytes]] = []
        storage = writer.storage
        self.fast = (type(storage).__name__ == "McapWriter"
                     and all(hasattr(storage, a) for a in ("chunk", "close_chunk", "channel_stats",
                                                           "message_start_time", "message_end_time"))
                     and all(hasattr(writer, a) for a in ("counts", "min_timestamp", "max_timestamp")))

    def add(self, conn_id: int, log_time: int, data: bytes) -> None:
        self.pending.append((conn_id, log_time, data))

    def flush(self) -> int:
        """Write everything queued; returns how many messages that was."""
        batch = self.pending.copy()       # the same list stays: callers may hold its append
        self.pending.clear()
        if not batch:
            return 0
        if not self.fast:
            by_id = {c.id: c for c in self.writer.connections}
            for conn_id, log_time, data in batch:
                self.writer.write(by_id[conn_id], log_time, data)
            return len(batch)
        start = 0
        while start < len(batch):
            start = self._into_chunk(batch, start)
        w, s = self.writer, self.writer.storage
        for conn_id, count in Counter(cid for cid, _, _ in batch).items():
            w.counts[conn_id] += count
            s.channel_stats[conn_id] += count
        times = [t for _, t, _ in batch]
        low, high = min(times), max(times)
        w.min_timestamp, w.max_timestamp = min(low, w.min_timestamp), max(high, w.max_timestamp)
        s.message_start_time, s.message_end_time = min(low, s.message_start_time), max(high, s.message_end_time)
        return len(batch)

    def _into_chunk(self, batch, start: int) -> int:
        """Append messages from `start` to the open chunk until it is full (then close it);
        returns the index of the first message not written."""
        storage = self.writer.storage
        chunk = storage.chunk
        pos = chunk.bio.tell()
        parts, index, pack = [], chunk.msgs, _MESSAGE.pack
        low, high = chunk.message_start_time, chunk.message_end_time
        end = start
        for conn_id, log_time, data in batch[start:]:
            index[conn_id].append((log_time, pos))
            parts.append(pack(_OPCODE, _BODY + len(data), conn_id, 0, log_time, log_time))
            parts.append(data)
            pos += _MESSAGE.size + len(data)
            low, high = min(low, log_time), max(high, log_time)
            end += 1
            if pos > CHUNK_BYTES:
                break
        chunk.bio.write(b"".join(parts))
        chunk.message_start_time, chunk.message_end_time = low, high
        if pos > CHUNK_BYTES:
            storage.close_chunk()
        return end
