"""`swarm-ros analyze` on damaged or hostile bags: memory follows the bag's size (a corrupt stamp
cannot stretch the time grid), corrupt positions and drones without usable odometry are reported
rather than crashing, and a bag cannot make analyze read a local file it names."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bagfactory import drones_metadata, write_bag

from swarm_ros.analysis.metrics import analyze
from swarm_ros.nodes.cdr import encode_odometry

REPO = Path(__file__).resolve().parent.parent
CF = "crazyflie_2.1"
T = np.round(np.arange(0.0, 10.0, 0.01), 10)
CIRCLE = np.column_stack([np.cos(T), np.sin(T), np.ones_like(T)])


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", "analyze", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=dict(os.environ, COLUMNS="200"))


def _odom(name, stamp_ns, xyz):
    return (f"/{name}/odom", "nav_msgs/msg/Odometry", 5.0, encode_odometry(stamp_ns, "world", f"{name}/base_link", xyz, (0, 0, 0)))


def test_one_corrupt_header_stamp_does_not_stretch_the_grid(tmp_path):
    """A flipped high byte of one stamp's seconds puts it 2^24 s (194 days) away: at the 10 ms
    odometry period the grid would need 1.7e9 steps (tens of GB); the sample is dropped instead."""
    bad = _odom("a", int(5e9) + (1 << 24) * 10 ** 9, CIRCLE[500])
    bag = write_bag(tmp_path / "bag", T, {"a": CIRCLE, "b": CIRCLE + [3, 0, 0]}, "mcap",
                    drones_metadata({"a": CF, "b": CF}), [bad])
    m = analyze(bag).metrics
    assert m["grid"]["steps"] == len(T) and m["grid"]["dt"] == pytest.approx(0.01)
    assert any(n.startswith("a: 1 odometry samples stamped more than") for n in m["notes"]), m["notes"]
    assert m["separation"]["min"] == pytest.approx(3.0)


def test_a_grid_spanning_far_apart_tracks_is_bounded_by_the_message_count(tmp_path):
    """Two drones whose whole tracks are 10^7 s apart (no outlier to drop): the grid is coarsened."""
    from swarm_ros.analysis.grid import MAX_STEPS, MIN_STEPS, STEPS_PER_MESSAGE
    t = np.concatenate([T, T + 1e7])
    a = np.vstack([CIRCLE, np.full_like(CIRCLE, np.nan)])
    b = np.vstack([np.full_like(CIRCLE, np.nan), CIRCLE + [3, 0, 0]])
    bag = write_bag(tmp_path / "bag", t, {"a": a, "b": b}, "mcap", drones_metadata({"a": CF, "b": CF}))
    m = analyze(bag).metrics
    assert m["grid"]["steps"] <= min(max(STEPS_PER_MESSAGE * 2 * len(T), MIN_STEPS), MAX_STEPS // 2)
    assert any(n.startswith("time grid coarsened") for n in m["notes"]), m["notes"]


@pytest.mark.parametrize("value", [1e300, np.inf, -np.inf, 2e6])
def test_corrupt_positions_are_reported_not_fatal(tmp_path, value):
    a = CIRCLE.copy()
    a[500] = [value, 0.0, 1.0]
    bag = write_bag(tmp_path / "bag", T, {"a": a, "b": CIRCLE + [3, 0, 0]}, "mcap", drones_metadata({"a": CF, "b": CF}))
    out = run_cli(bag, "--out", tmp_path / "out", "--world", REPO / "sim" / "worlds" / "pillar_field.yaml")
    assert out.returncode == 0, out.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "a: 1 odometry positions infinite or beyond 1e+06 m dropped (corrupt)" in m["notes"]
    assert m["drones"][0]["samples"] == len(T) - 1 and m["drones"][0]["distance"] < 11


def test_a_drone_without_usable_odometry_is_left_out_with_a_note(tmp_path):
    c = np.full_like(CIRCLE, np.nan)
    c[5] = [1e300, 0, 1]                                  # its one message is corrupt
    bag = write_bag(tmp_path / "bag", T, {"a": CIRCLE, "b": CIRCLE + [3, 0, 0], "c": c}, "mcap",
                    drones_metadata({"a": CF, "b": CF, "c": CF}))
    out = run_cli(bag, "--out", tmp_path / "out", "--world", REPO / "sim" / "worlds" / "pillar_field.yaml")
    assert out.returncode == 0, out.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [d["name"] for d in m["drones"]] == ["a", "b"]
    assert "no usable odometry from c: left out of every figure" in m["notes"]


def test_a_drone_with_one_odometry_message_is_analysed(tmp_path):
    one = np.full_like(CIRCLE, np.nan)
    one[300] = [3.0, 0.0, 1.0]
    bag = write_bag(tmp_path / "bag", T, {"a": CIRCLE, "b": one}, "mcap", drones_metadata({"a": CF, "b": CF}))
    out = run_cli(bag, "--out", tmp_path / "out", "--world", REPO / "sim" / "worlds" / "pillar_field.yaml")
    assert out.returncode == 0, out.stderr
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [d["samples"] for d in m["drones"]] == [len(T), 1] and m["drones"][1]["distance"] == 0.0


def _bag_naming(tmp_path, mission_file) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return write_bag(folder / "bag", T, {"cf1": CIRCLE, "cf2": CIRCLE + [3, 0, 0]}, "mcap",
                     drones_metadata({"cf1": CF, "cf2": CF}, mission_file=str(mission_file)))


def test_a_mission_file_named_by_a_foreign_bag_is_not_read(tmp_path):
    secret = tmp_path / "private" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n")
    bag = _bag_naming(tmp_path, secret)
    out = run_cli(bag, "--out", tmp_path / "out", cwd=tmp_path / "downloads")
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr + (tmp_path / "out" / "metrics.json").read_text() \
        + (tmp_path / "out" / "report.html").read_text()
    assert "SECRET-CONTENT" not in text
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert any("lies outside the bag's folder and the current folder: not read" in n for n in m["notes"]), m["notes"]
    assert m["world"] is None


def test_a_mission_file_under_the_current_folder_or_given_with_mission_is_used(tmp_path):
    rings = REPO / "config" / "missions" / "rings.yaml"
    bag = _bag_naming(tmp_path, rings)
    under_cwd = analyze(bag).metrics if Path.cwd().resolve() in rings.resolve().parents else None
    far = run_cli(bag, "--out", tmp_path / "far", cwd=tmp_path / "downloads")
    assert far.returncode == 0, far.stderr
    assert json.loads((tmp_path / "far" / "metrics.json").read_text())["world"] is None
    given = run_cli(bag, "--out", tmp_path / "given", "--mission", rings, cwd=tmp_path / "downloads")
    assert given.returncode == 0, given.stderr
    assert json.loads((tmp_path / "given" / "metrics.json").read_text())["world"]["name"] == "pillar_field"
    home = run_cli(bag, "--out", tmp_path / "home", cwd=REPO)
    assert home.returncode == 0, home.stderr
    assert json.loads((tmp_path / "home" / "metrics.json").read_text())["world"]["name"] == "pillar_field"
    if under_cwd is not None:
        assert under_cwd["world"]["name"] == "pillar_field"


def test_a_bad_mission_option_is_one_line_exit_2(tmp_path):
    bag = _bag_naming(tmp_path, "")
    out = run_cli(bag, "--out", tmp_path / "out", "--mission", tmp_path / "nope.yaml")
    assert out.returncode == 2 and out.stderr.startswith("error: --mission: ") and out.stderr.count("\n") == 1
