"""`swarm-ros analyze` as a user runs it: outputs, the HTML report in a real browser, comparison of
two runs, and one clear line (exit code 2) for anything that is not a readable bag."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from bagfactory import drones_metadata, write_bag

T = np.round(np.arange(0.0, 8.0, 0.02), 10)
PNG = b"\x89PNG\r\n\x1a\n"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", "analyze", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=dict(os.environ, COLUMNS="160"))


def two_drones(path, closest: float, storage: str = "mcap"):
    x = closest / 2 + np.abs(T - 4.0)
    a = np.stack([-x, np.zeros_like(T), np.ones_like(T)], axis=1)
    return write_bag(path, T, {"a": a, "b": a * [-1, 1, 1]}, storage,
                     drones_metadata({"a": "crazyflie_2.1", "b": "crazyflie_2.1"}))


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analyze")
    world = tmp / "world.yaml"
    world.write_text("name: hall\nbounds: {min: [-6, -6, 0], max: [6, 6, 3]}\n"
                     "obstacles:\n  - {type: cylinder, name: post, center: [0, 4], radius: 0.3, height: 2}\n")
    bag = two_drones(tmp / "bag", closest=0.4)
    out = run_cli(bag, "--out", tmp / "out", "--world", world)
    return out, tmp


def test_writes_metrics_plots_and_a_self_contained_report(analysed):
    out, tmp = analysed
    assert out.returncode == 0, out.stderr
    assert "minimum separation (m)" in out.stdout and "0.400" in out.stdout
    m = json.loads((tmp / "out" / "metrics.json").read_text())
    assert m["separation"]["min"] == pytest.approx(0.4) and m["world"]["name"] == "hall"
    for name in ("trajectories", "altitude", "side_3d", "separation", "order", "speed"):
        png = (tmp / "out" / f"{name}.png").read_bytes()
        assert png.startswith(PNG) and len(png) > 5000, name
    html = (tmp / "out" / "report.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(images) == 6 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!data:)', html)           # nothing to fetch from anywhere
    assert "<script" not in html and "0.400" in html


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")
def test_report_opens_in_headless_chromium_without_errors(analysed, tmp_path):
    _, tmp = analysed
    url = (tmp / "out" / "report.html").as_uri()
    flags = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>swarm-ros analysis: synthetic</h1>" in dom.stdout and dom.stdout.count("<img") == 6
    shot = tmp_path / "shot.png"
    run = subprocess.run(flags + ["--window-size=1200,2400", f"--screenshot={shot}", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.read_bytes().startswith(PNG), run.stderr[-2000:]
    console = [line for line in (dom.stderr + run.stderr).splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    from matplotlib.image import imread
    pixels = imread(shot)
    assert pixels.shape[0] >= 2000 and pixels[..., :3].std() > 0.05     # a rendered page, not a blank one


def test_two_bags_are_compared_side_by_side(tmp_path):
    a = two_drones(tmp_path / "a", closest=0.4)
    b = two_drones(tmp_path / "b", closest=0.9, storage="sqlite3")
    out = run_cli(a, b, "--out", tmp_path / "cmp")
    assert out.returncode == 0, out.stderr
    comp = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    row = next(r for r in comp["rows"] if r["metric"] == "minimum separation")
    assert (row["a"], row["b"], row["b_minus_a"]) == pytest.approx((0.4, 0.9, 0.5))
    assert "A vs B" in out.stdout and "+0.500" in out.stdout
    for run in ("a", "b"):
        assert json.loads((tmp_path / "cmp" / run / "metrics.json").read_text())["storage"] == \
            ("mcap" if run == "a" else "sqlite3")
    assert (tmp_path / "cmp" / "report.html").read_text().count("<img") == 12


def _truncate(bag_dir):
    (data,) = [p for p in bag_dir.iterdir() if p.suffix in (".mcap", ".db3")]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return bag_dir


@pytest.mark.parametrize("case, message", [
    ("truncated sqlite3", "cannot read the bag (corrupt or truncated?)"),
    ("random bytes .mcap", "not a bag: no MCAP or SQLite header"),
    ("random bytes file", "not a bag (no MCAP or SQLite header)"),
    ("missing", "no such file or folder"),
    ("folder without a bag", "not a rosbag2 folder"),
    ("no odometry", "no nav_msgs/Odometry topics"),
])
def test_bad_input_gives_one_clear_line_and_exit_code_2(tmp_path, case, message):
    rng = np.random.default_rng(0)
    target = {
        "truncated sqlite3": lambda: _truncate(two_drones(tmp_path / "bag", 1.0, "sqlite3")),
        "random bytes .mcap": lambda: (tmp_path / "x.mcap").write_bytes(rng.bytes(4096)) and tmp_path / "x.mcap",
        "random bytes file": lambda: (tmp_path / "x.bin").write_bytes(rng.bytes(4096)) and tmp_path / "x.bin",
        "missing": lambda: tmp_path / "nothing_here",
        "folder without a bag": lambda: (tmp_path / "empty").mkdir() or tmp_path / "empty",
        "no odometry": lambda: write_bag(tmp_path / "bag", T, {}, "mcap", extra=[
            ("/chatter", "std_msgs/msg/String", 0.5, bytes([0, 1, 0, 0, 3, 0, 0, 0, 104, 105, 0]))]),
    }[case]()
    out = run_cli(target, "--out", tmp_path / "out", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith(f"error: {target}") and message in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_truncated_mcap_is_analysed_as_far_as_it_is_intact(tmp_path):
    """A cut MCAP (a killed recorder) is no longer refused: what is intact is analysed, and the
    report says what was lost (test_bag_repair.py has the details)."""
    bag = _truncate(two_drones(tmp_path / "bag", 1.0))
    out = run_cli(bag, "--out", tmp_path / "out", cwd=tmp_path)
    assert out.returncode == 0 and "bag truncated: read " in out.stdout, out.stdout + out.stderr
    notes = json.loads((tmp_path / "out" / "metrics.json").read_text())["notes"]
    assert notes[0].startswith("bag truncated: read ")


def test_bad_options_are_refused(tmp_path):
    bag = two_drones(tmp_path / "bag", 1.0)
    out = run_cli(bag, "--near-miss", "-1")
    assert out.returncode == 2 and "--near-miss: -1 is not a finite number >= 0" in out.stderr
    (tmp_path / "w.yaml").write_text("name: w\nbounds: {min: [0, 0, 0], max: [1, 1]}\n")
    out = run_cli(bag, "--world", tmp_path / "w.yaml", "--out", tmp_path / "o")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "w.yaml: bounds.max" in out.stderr


def test_odometry_with_nan_poses_is_skipped_and_json_stays_valid(tmp_path):
    from swarm_ros.nodes.cdr import encode_odometry
    x = 0.5 + np.abs(T - 4.0)
    a = np.stack([-x, np.zeros_like(T), np.ones_like(T)], axis=1)
    nan_poses = [("/a/odom", "nav_msgs/msg/Odometry", 8.0 + k * 0.02,
                  encode_odometry(int(round((8.0 + k * 0.02) * 1e9)), "world", "a", (np.nan, 0, 1), (0, 0, 0)))
                 for k in range(5)]
    bag = write_bag(tmp_path / "bag", T, {"a": a, "b": a * [-1, 1, 1]}, "mcap", extra=nan_poses)
    out = run_cli(bag, "--out", tmp_path / "out")
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "out" / "metrics.json").read_text()
    m = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))   # strict JSON
    assert [d["samples"] for d in m["drones"]] == [len(T), len(T)]
    assert m["separation"]["min"] == pytest.approx(1.0) and m["drones"][0]["distance"] == pytest.approx(8.0 - 0.02)
