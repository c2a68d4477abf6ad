"""A bag whose recorder was killed (an MCAP without its summary, index and end magic) is read as
far as it is intact, says what was lost, and `swarm-ros bag repair` rewrites it whole.

The bags are written as the recorder writes them (rosbags' Writer, MCAP, ~1 MiB chunks) and cut
the way a SIGKILL cuts them: anywhere, without metadata.yaml."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from bagfactory import drones_metadata, write_bag
from swarm_ros.analysis.bag import read_bag
from swarm_ros.analysis.metrics import analyze
from swarm_ros.cli import main

RATE, SECONDS = 50, 17.4
NAMES = ["cf1", "cf2", "cf3", "x1"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """A complete bag of four drones over 17.4 s (several chunks) and its odometry."""
    t = np.arange(0, SECONDS, 1 / RATE)
    pos = {n: np.stack([np.cos(t + k), np.sin(t + k), 1 + 0.01 * k * t], axis=1) for k, n in enumerate(NAMES)}
    bag = write_bag(tmp_path_factory.mktemp("whole") / "bag", t, pos,
                    metadata=drones_metadata({n: "crazyflie_2.1" for n in NAMES}))
    (mcap,) = bag.glob("*.mcap")
    return mcap, t, pos


def killed(whole, tmp_path, fraction: float):
    """A copy of the bag folder as a killed recorder leaves it: the first `fraction` of the MCAP
    file, no metadata.yaml."""
    mcap = whole[0]
    data = mcap.read_bytes()
    folder = tmp_path / f"cut_{fraction:g}"
    folder.mkdir()
    (folder / mcap.name).write_bytes(data[:int(len(data) * fraction)])
    return folder


@pytest.mark.parametrize("fraction", [0.2, 0.55, 0.9, 0.999])
def test_a_truncated_bag_is_read_as_far_as_it_is_intact(whole, tmp_path, fraction):
    _, t, pos = whole
    bag = killed(whole, tmp_path, fraction)
    rec = read_bag(bag)
    assert rec.lost.startswith("bag truncated: read ") and "were lost" in rec.lost
    assert sorted(rec.drones) == NAMES
    for n in NAMES:
        stamp, _, xyz = rec.tracks[n].arrays()
        k = len(stamp)
        # a prefix of what was flown, every sample exact: nothing partial, nothing invented
        assert 0 < k <= len(t) and np.array_equal(xyz, pos[n][:k])
    read = max(len(rec.tracks[n].stamp) for n in NAMES) / RATE
    assert read >= fraction * SECONDS - 1.5          # at most about one chunk (1 MiB, ~1.4 s here) lost
    an = analyze(bag)
    assert an.metrics["notes"][0] == rec.lost


def test_more_of_the_bag_gives_more_of_the_flight(whole, tmp_path):
    counts = [read_bag(killed(whole, tmp_path, f)).messages_read for f in (0.3, 0.6, 0.95)]
    assert counts[0] < counts[1] < counts[2]


def test_a_cut_inside_the_first_records_is_one_line(whole, tmp_path):
    from swarm_ros.analysis.bag import BagError
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "bag.mcap").write_bytes(whole[0].read_bytes()[:40])
    with pytest.raises(BagError) as info:
        read_bag(folder)
    assert "\n" not in str(info.value) and "no message survived" in str(info.value)


def test_bag_repair_writes_a_complete_bag_and_keeps_the_damaged_one(whole, tmp_path, capsys):
    bag = killed(whole, tmp_path, 0.7)
    damaged = (bag / whole[0].name).read_bytes()
    assert main(["bag", "repair", str(bag)]) == 0
    out = bag.with_name(bag.name + "_repaired")
    assert (out / "metadata.yaml").is_file() and (bag / whole[0].name).read_bytes() == damaged
    assert "bag truncated" in capsys.readouterr().out
    with AnyReader([out]) as reader:           # indexed: the footer-first reader opens it
        counts = {c.topic: c.msgcount for c in reader.connections}
    expected = read_bag(bag).messages_read
    assert sum(counts.values()) == expected > 0
    repaired = read_bag(out)
    assert repaired.lost == "" and repaired.messages_read == expected
    # never over an existing folder; --in-place swaps the folder only once the copy is whole
    assert main(["bag", "repair", str(bag)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["bag", "repair", str(bag), "--in-place"]) == 0
    assert (bag / "metadata.yaml").is_file() and read_bag(bag).lost == ""
    assert not list(tmp_path.glob("*.damaged")) and not list(tmp_path.glob("*.repairing"))


def test_bag_repair_refuses_what_is_not_an_mcap_bag(tmp_path, capsys):
    (tmp_path / "x.mcap").write_bytes(b"not an mcap at all")
    assert main(["bag", "repair", str(tmp_path / "x.mcap")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an MCAP file" in err
    assert main(["bag", "repair", str(tmp_path / "missing")]) == 2
    assert not list(tmp_path.glob("*_repaired"))


def test_an_intact_bag_is_read_as_before(whole, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(whole[0].parent, folder)
    rec = read_bag(folder)
    assert rec.lost == "" and rec.messages_read == len(whole[1]) * len(NAMES)
