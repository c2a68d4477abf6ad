"""Batched bag writes (swarm_ros/bagbatch.py) give the very file rosbags' own per-message write
gives: same MCAP bytes (records, chunks, index, statistics) and the same metadata.yaml."""
from __future__ import annotations

import random

import pytest
from mcap.reader import make_reader
from rosbags.rosbag2 import StoragePlugin, Writer

from swarm_ros import bagtypes
from swarm_ros.bagbatch import CHUNK_BYTES, BatchWriter

TOPICS = [f"/d{i}/{kind}" for kind in ("odom", "cmd") for i in range(30)]


def messages(count: int, seed: int = 1) -> list[tuple[int, int, bytes]]:
    """(connection id, log time, data): sizes vary, times mostly rise with some out of order."""
    rng = random.Random(seed)
    return [(rng.randrange(1, len(TOPICS) + 1), 10**9 + 1000 * i + rng.randrange(-3000, 3000),
             rng.randbytes(rng.randrange(4, 1500))) for i in range(count)]


def open_writer(folder, storage=StoragePlugin.MCAP) -> Writer:
    writer = Writer(folder / "bag", version=9, storage_plugin=storage)
    writer.open()
    store = bagtypes.typestore()
    for topic in TOPICS:
        writer.add_connection(topic, "std_msgs/msg/String", typestore=store)
    return writer


def write_one_by_one(folder, msgs, storage=StoragePlugin.MCAP) -> None:
    writer = open_writer(folder, storage)
    for cid, t, data in msgs:
        writer.write(writer.connections[cid - 1], t, data)
    writer.close()


def write_batched(folder, msgs, every: int, storage=StoragePlugin.MCAP) -> BatchWriter:
    writer = open_writer(folder, storage)
    batch = BatchWriter(writer)
    for i, (cid, t, data) in enumerate(msgs, 1):
        batch.add(cid, t, data)
        if i % every == 0:
            assert batch.flush() == every
    batch.flush()
    writer.close()
    return batch


@pytest.mark.parametrize("every", [1, 7, 500, 10_000])
def test_batched_mcap_is_byte_for_byte_what_writer_write_makes(tmp_path, every):
    msgs = messages(3000)
    assert sum(len(d) for _, _, d in msgs) > 2 * CHUNK_BYTES      # several chunks, some closed mid-batch
    write_one_by_one(tmp_path / "one", msgs)
    batch = write_batched(tmp_path / "batched", msgs, every)
    assert batch.fast
    for name in ("bag.mcap", "metadata.yaml"):
        assert (tmp_path / "batched" / "bag" / name).read_bytes() == (tmp_path / "one" / "bag" / name).read_bytes()


def test_an_independent_reader_gets_every_message_in_order_of_writing(tmp_path):
    msgs = messages(2000, seed=2)
    write_batched(tmp_path, msgs, every=64)
    with open(tmp_path / "bag" / "bag.mcap", "rb") as f:
        reader = make_reader(f)
        got = [(m.channel_id, m.log_time, m.data) for _, _, m in reader.iter_messages(log_time_order=False)]
        stats = reader.get_summary().statistics
    assert sorted(got) == sorted(msgs)
    assert stats.message_count == len(msgs)
    assert (stats.message_start_time, stats.message_end_time) == (min(t for _, t, _ in msgs), max(t for _, t, _ in msgs))


def test_sqlite3_bags_are_written_message_by_message_with_the_same_content(tmp_path):
    msgs = messages(300, seed=3)
    batch = write_batched(tmp_path / "batched", msgs, every=50, storage=StoragePlugin.SQLITE3)
    assert not batch.fast
    write_one_by_one(tmp_path / "one", msgs, storage=StoragePlugin.SQLITE3)
    from rosbags.rosbag2 import Reader
    contents = []
    for folder in ("batched", "one"):
        with Reader(tmp_path / folder / "bag") as reader:
            contents.append(sorted((c.topic, t, bytes(d)) for c, t, d in reader.messages()))
    assert contents[0] == contents[1] and len(contents[0]) == len(msgs)
