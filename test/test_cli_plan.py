"""`swarm-ros plan`: results on a real world file, JSON output, and one-line errors with exit 2."""
import json
import subprocess
import sys

import numpy as np
import pytest

from sim.world import load_world
from swarm_ros.cli import main
from swarm_ros.core.resources import share_dir

ROUTE = ["--start", "0", "-8", "1", "--goal", "0", "8", "2"]


def run(capsys, *argv):
    code = main(["plan", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_geometric_plan_prints_result_and_writes_path(capsys, tmp_path):
    out_file = tmp_path / "path.json"
    code, out, err = run(capsys, "pillar_field", *ROUTE, "--samples", "1500", "--json", str(out_file))
    assert code == 0, err
    assert "collision-free: yes" in out and "ms online" in out and "cost:" in out
    data = json.loads(out_file.read_text())
    path = np.array(data["path"])
    assert data["found"] and data["collision_free"] and data["kind"] == "geometric"
    assert np.allclose(path[0], [0, -8, 1]) and np.allclose(path[-1], [0, 8, 2])
    assert data["cost"] == pytest.approx(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    world = load_world(share_dir() / "sim" / "worlds" / "pillar_field.yaml")
    assert data["min_clearance"] >= data["inflation"] and world.inside_fence(path).all()


def test_kinodynamic_plan_reports_limits(capsys, tmp_path):
    out_file = tmp_path / "traj.json"
    code, out, err = run(capsys, str(share_dir() / "sim" / "worlds" / "pillar_field.yaml"), *ROUTE,
                         "--kinodynamic", "--samples", "800", "--vehicle", "px4_x500", "--lambda", "1",
                         "--json", str(out_file))
    assert code == 0, err
    assert "within limits" in out and "collision-free: yes" in out
    data = json.loads(out_file.read_text())
    assert data["limits"]["within"] and data["limits"]["limit"]["speed"] == 12.0
    assert data["duration"] == pytest.approx(data["trajectory"]["t"][-1])


def test_no_path_exits_1(capsys, tmp_path):
    world = tmp_path / "walled.yaml"
    world.write_text("name: walled\nbounds: {min: [0, 0, 0], max: [10, 10, 4]}\n"
                     "obstacles:\n  - {name: wall, type: box, center: [5, 5, 2], size: [0.4, 10, 4]}\n")
    code, out, _ = run(capsys, str(world), "--start", "2", "5", "2", "--goal", "8", "5", "2", "--samples", "800")
    assert code == 1 and "no path" in out


@pytest.mark.parametrize("argv, field, words", [
    (["--start", "0", "-8", "9", "--goal", "0", "8", "2"], "--start", "outside the geofence"),
    (["--start", "0", "0", "1", "--goal", "0", "8", "2"], "--start", "inside obstacle 'tower'"),
    (["--start", "0", "-8", "1", "--goal", "-3", "-4.85", "1"], "--goal", "from obstacle 'pillar_w2'"),
    ([*ROUTE, "--vehicle", "mavic"], "--vehicle", "unknown vehicle type 'mavic'"),
    ([*ROUTE, "--lambda", "1.5"], "--lambda", "> 0 and <= 1"),
    ([*ROUTE, "--samples", "3"], "--samples", ">= 10"),
    ([*ROUTE, "--backend", "torch"], "--backend", "unknown planner backend 'torch'"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, field, words):
    code, out, err = run(capsys, "pillar_field", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: swarm-ros plan: {field}: ") and words in err


def test_cupy_requested_without_cupy_is_one_line_exit_2(capsys):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here; the missing-CuPy error cannot occur")
    except ImportError:
        pass
    code, _, err = run(capsys, "pillar_field", *ROUTE, "--backend", "cupy")
    assert code == 2 and err.count("\n") == 1 and "CuPy is not installed" in err


def test_unknown_world_is_one_line_without_traceback():
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "plan", "no_such_world", *ROUTE],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and "no_such_world.yaml" in out.stderr and "not found" in out.stderr


def cluttered_world(path, boxes: int = 40, seed: int = 3):
    """A 10 x 10 x 3 m room with `boxes` random boxes, the two corners used as start and goal kept clear."""
    rng = np.random.default_rng(seed)
    ends = np.array([[0.6, 0.6, 1.5], [9.4, 9.4, 1.5]])
    lines = ["name: clutter", "bounds: {min: [0, 0, 0], max: [10, 10, 3]}", "obstacles:"]
    while len(lines) < 3 + boxes:
        c = rng.uniform([0.5, 0.5, 0.4], [9.5, 9.5, 2.6])
        s = rng.uniform([0.5, 0.5, 0.8], [1.5, 1.5, 2.5])
        if all(np.any(np.abs(e - c) > s / 2 + 0.5) for e in ends):
            lines.append(f"  - {{name: b{len(lines) - 3}, type: box, center: {c.round(3).tolist()}, "
                         f"size: {s.round(3).tolist()}}}")
    path.write_text("\n".join(lines) + "\n")
    return ["--start", *map(str, ends[0]), "--goal", *map(str, ends[1])]


def test_smoothed_path_is_shorter_safe_and_near_a_dense_reference(capsys, tmp_path):
    world = tmp_path / "clutter.yaml"
    route = cluttered_world(world)
    code, out, err = run(capsys, str(world), *route, "--samples", "4000", "--json", str(tmp_path / "p.json"))
    assert code == 0, err
    assert "smoothed" in out and "collision-free: yes" in out
    data = json.loads((tmp_path / "p.json").read_text())
    path, raw = np.array(data["path"]), np.array(data["raw_path"])
    assert data["cost"] == pytest.approx(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    assert data["raw_cost"] == pytest.approx(np.linalg.norm(np.diff(raw, axis=0), axis=1).sum())
    assert data["cost"] <= data["raw_cost"] and data["collision_free"]
    assert np.allclose(path[[0, -1]], raw[[0, -1]])
    # Reference optimum: the smoothed path of a dense roadmap (another sample seed).
    code, _, err = run(capsys, str(world), *route, "--samples", "30000", "--seed", "1",
                       "--json", str(tmp_path / "ref.json"))
    assert code == 0, err
    ref = json.loads((tmp_path / "ref.json").read_text())
    reference = ref["cost"]
    assert data["raw_cost"] > 1.01 * reference      # the raw path has something to gain here
    assert data["cost"] <= 1.05 * reference


def test_no_smooth_keeps_the_raw_path(capsys, tmp_path):
    code, out, err = run(capsys, "pillar_field", *ROUTE, "--samples", "1500", "--no-smooth",
                         "--json", str(tmp_path / "p.json"))
    assert code == 0, err
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["cost"] == data["raw_cost"] and data["path"] == data["raw_path"] and "smoothed" not in out
