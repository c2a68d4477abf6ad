"""The pictures of `swarm-ros analyze`: altitude over time and the side/3-D view show two rings flown
at two heights, the animation decodes as a moving picture, and the two-run comparison page lays
out at 1280 px without overlapping or overflowing tables (measured in headless Chromium)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from bagfactory import drones_metadata, write_bag
from matplotlib.colors import to_rgb
from matplotlib.image import imread

T = np.round(np.arange(0.0, 12.0, 0.05), 10)
TAKEOFF_END, TASK_END = 3.0, 9.0
WORLD = ("name: hall\nbounds: {min: [-8, -8, 0], max: [8, 8, 5]}\n"
         "obstacles:\n  - {type: box, name: tower, center: [0, 0, 2], size: [1, 1, 4]}\n")


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", "analyze", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=dict(os.environ, COLUMNS="160"))


def two_rings(path, storage="mcap"):
    """Two Crazyflies circle at 1.5 m (radius 3), two X500s at 3.5 m (radius 5.5): the rings mission
    in miniature, with a take-off climb and a landing descent at the phase times."""
    up = np.clip(T / TAKEOFF_END, 0, 1) * np.clip((T[-1] - T) / (T[-1] - TASK_END), 0, 1)
    pos = {}
    for k, (name, radius, height) in enumerate([("cf1", 3.0, 1.5), ("cf2", 3.0, 1.5), ("x1", 5.5, 3.5),
                                                ("x2", 5.5, 3.5)]):
        a = 0.4 * T + np.pi * (k % 2)
        pos[name] = np.stack([radius * np.cos(a), radius * np.sin(a), 0.05 + up * height], axis=1)
    meta = drones_metadata({"cf1": "crazyflie_2.1", "cf2": "crazyflie_2.1", "x1": "px4_x500", "x2": "px4_x500"})
    meta["phases"] = {"takeoff_end": TAKEOFF_END, "task_end": TASK_END}
    return write_bag(path, T, pos, storage, meta)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pictures")
    (tmp / "world.yaml").write_text(WORLD)
    out = run_cli(two_rings(tmp / "bag"), "--out", tmp / "out", "--world", tmp / "world.yaml", "--animate")
    return out, tmp / "out"


def _rows_of(png, colour: str) -> np.ndarray:
    """Pixel rows where a plotted line of exactly this colour is drawn."""
    rgb = imread(png)[..., :3]
    hit = np.abs(rgb - np.array(to_rgb(colour))).max(axis=2) < 0.02
    return np.flatnonzero(hit.any(axis=1))


def test_altitude_and_side_view_separate_the_two_layers(analysed):
    out, folder = analysed
    assert out.returncode == 0, out.stderr
    for png in ("altitude.png", "side_3d.png"):
        # Crazyflies (first type: blue) below the X500s (second type: orange): rows grow downwards.
        cf, x500 = _rows_of(folder / png, "tab:blue"), _rows_of(folder / png, "tab:orange")
        assert len(cf) > 20 and len(x500) > 20, png
        assert np.median(x500) < np.median(cf) - 20, png
    alt = imread(folder / "altitude.png")[..., :3]
    shade = np.abs(alt - np.array(to_rgb("#dbe9f6"))).max(axis=2) < 0.02     # take-off span is shaded
    columns = np.flatnonzero(shade.any(axis=0))
    width = alt.shape[1]
    assert len(columns) and columns.max() < width * (TAKEOFF_END / T[-1]) + 80 and columns.min() > 40
    html = (folder / "report.html").read_text()
    assert html.count("<img") == 6 and 'alt="altitude"' in html and 'alt="side and 3-D views"' in html
    assert "take-off until 3 s, landing from 9 s" in html


def test_animation_is_a_moving_gif(analysed):
    from PIL import Image, ImageChops
    from swarm_ros.analysis.animation import FPS
    out, folder = analysed
    assert out.returncode == 0, out.stderr
    gif = folder / "animation.gif"
    assert f"in {gif}" in out.stdout.replace("\n", "")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.size == (640, 480)
        assert im.n_frames == round(T[-1] * FPS)         # real time for a short run
        im.seek(0)
        first = im.convert("RGB")
        im.seek(im.n_frames // 2)
        middle = im.convert("RGB")
    changed = ImageChops.difference(first, middle).getbbox()
    assert changed is not None and (changed[2] - changed[0]) * (changed[3] - changed[1]) > 100 * 100


def test_long_runs_are_subsampled_to_a_bounded_number_of_frames():
    from swarm_ros.analysis.animation import MAX_FRAMES, frame_steps
    steps = frame_steps(np.arange(0, 3600, 0.02))
    assert len(steps) == MAX_FRAMES and steps[0] == 0 and steps[-1] == 180_000 - 1
    assert list(frame_steps(np.arange(0, 1.0, 0.5))) == [0, 1]


@pytest.mark.parametrize("case, message", [
    ("no odometry", "no nav_msgs/Odometry topics"),
    ("unknown format", "film.avi: unknown format .avi; allowed: a .gif or .mp4 file name"),
    ("two bags", "--animate: one bag at a time"),
])
def test_animate_refuses_bad_input_with_one_line(tmp_path, case, message):
    bag = two_rings(tmp_path / "bag") if case != "no odometry" else write_bag(tmp_path / "bag", T, {}, "mcap", extra=[
        ("/chatter", "std_msgs/msg/String", 0.5, bytes([0, 1, 0, 0, 3, 0, 0, 0, 104, 105, 0]))])
    args = {"no odometry": [bag, "--animate"], "unknown format": [bag, "--animate", tmp_path / "out" / "film.avi"],
            "two bags": [bag, bag, "--animate"]}[case]
    out = run_cli(*args, "--out", tmp_path / "out")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith("error: ") and message in out.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg on PATH (MP4 needs it; GIF does not)")
def test_animation_as_mp4_with_ffmpeg(analysed, tmp_path):
    out, folder = analysed
    bag = json.loads((folder / "metrics.json").read_text())["bag"]
    run = run_cli(bag, "--out", tmp_path / "o", "--animate", tmp_path / "run.mp4")
    assert run.returncode == 0, run.stderr
    probe = subprocess.run(["ffmpeg", "-i", str(tmp_path / "run.mp4")], capture_output=True, text=True)
    assert "Video: h264" in probe.stderr and "640x480" in probe.stderr


# --- the comparison page in a real browser at 1280 px ---------------------------------------------

LAYOUT_CHECK = """<script>
const boxes = [...document.querySelectorAll('table')].map(t => t.getBoundingClientRect());
const overlaps = [];
boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => {
  if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
      Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5) overlaps.push([i, i + 1 + j]);
}));
const wide = [...document.querySelectorAll('body *')].filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
}).map(e => e.tagName);
const out = document.createElement('pre'); out.id = 'layout';
out.textContent = JSON.stringify({viewport: innerWidth, tables: boxes.length, overlaps, wide,
                                  scroll: document.documentElement.scrollWidth});
document.body.appendChild(out);
</script></body>"""


def _chromium():
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def _flags(tmp_path, height: int) -> list:
    return [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size=1280,{height}"]


def _layout(report, tmp_path) -> dict:
    """The page laid out by Chromium in a 1280 px window, measured by a script in a copy of it."""
    probe = tmp_path / f"probe_{report.parent.name}.html"
    probe.write_text(report.read_text().replace("</body>", LAYOUT_CHECK))
    dom = subprocess.run(_flags(tmp_path, 900) + ["--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = dom.stdout.split('<pre id="layout">', 1)[1].split("</pre>", 1)[0]
    return json.loads(found.replace("&quot;", '"'))


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")
def test_comparison_page_fits_1280_px_without_overlapping_tables(analysed, tmp_path):
    _, folder = analysed
    a = json.loads((folder / "metrics.json").read_text())["bag"]
    b = two_rings(tmp_path / "b", storage="sqlite3")
    out = run_cli(a, b, "--out", tmp_path / "cmp")
    assert out.returncode == 0, out.stderr
    for report, tables in ((tmp_path / "cmp" / "report.html", 5),    # A vs B, then summary and drones of each
                           (folder / "report.html", 2)):              # one run: summary and drones
        layout = _layout(report, tmp_path)
        assert layout["viewport"] == 1280 and layout["tables"] == tables, layout
        assert layout["overlaps"] == [] and layout["wide"] == [] and layout["scroll"] <= 1280, layout
    shot = tmp_path / "shot.png"
    run = subprocess.run(_flags(tmp_path, 2000) + [f"--screenshot={shot}", (tmp_path / "cmp" / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1280) and pixels[..., :3].std() > 0.05     # rendered, not blank


def test_the_recorder_writes_the_phase_times_analyze_reads(rings_mission, tmp_path):
    from swarm_ros.analysis.bag import read_bag
    from swarm_ros.analysis.grid import build_trajectories
    from swarm_ros.analysis.phases import phase_times
    from swarm_ros.nodes.recorder import bag_metadata
    meta = {k: json.loads(v) if k in ("drones", "phases") else v for k, v in bag_metadata(rings_mission).items()}
    ph = rings_mission.phases
    assert meta["phases"] == {"takeoff_end": ph.takeoff_end, "task_end": ph.task_end}
    t = T + 2.0                                          # odometry stamped from mission time 2 s on
    bag = write_bag(tmp_path / "bag", t, {"cf1": np.zeros((len(t), 3))}, "mcap", meta)
    rec = read_bag(bag)
    assert phase_times(rec, None, build_trajectories(rec)) == {
        "available": True, "takeoff_end": pytest.approx(ph.takeoff_end - 2.0), "task_end": pytest.approx(ph.task_end - 2.0), "source": "bag metadata"}
    del rec.custom["swarm_ros.phases"]
    assert phase_times(rec, None, build_trajectories(rec))["available"] is False
    assert phase_times(rec, rings_mission, build_trajectories(rec))["source"].startswith("mission file")
