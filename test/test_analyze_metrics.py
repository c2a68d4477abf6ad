"""`swarm_ros.analysis` on bags written from synthetic trajectories whose answers are known,
in both rosbag2 storages."""
from __future__ import annotations

import json

import numpy as np
import pytest
from bagfactory import STORE, drones_metadata, multiarray_cdr, string_cdr, write_bag

from swarm_ros.analysis.cdrfields import multiarray_labels, odometry_stamp_position
from swarm_ros.analysis.metrics import analyze

STORAGES = ["mcap", "sqlite3"]
CF = "crazyflie_2.1"          # body radius 0.07 m: contact below 0.14 m between two of them
T = np.round(np.arange(0.0, 10.0, 0.02), 10)

WORLD = """name: test_box
bounds: {min: [-5, -5, 0], max: [5, 5, 4]}
obstacles:
  - {type: box, name: crate, center: [0, 3, 1], size: [1, 1, 2]}
"""


def approach(t, closest: float, at: float, speed: float = 1.0):
    """Two drones flying head-on along x that are `closest` apart at time `at`, then part."""
    x = closest / 2 + speed * np.abs(t - at)
    a = np.stack([-x, np.zeros_like(t), np.ones_like(t)], axis=1)
    b = a * [-1, 1, 1]
    return a, b


@pytest.mark.parametrize("storage", STORAGES)
def test_minimum_separation_value_time_and_near_miss(tmp_path, storage):
    a, b = approach(T, closest=0.3, at=6.0)
    bag = write_bag(tmp_path / "bag", T, {"a": a, "b": b}, storage, drones_metadata({"a": CF, "b": CF}))
    m = analyze(bag).metrics
    assert m["storage"] == storage and m["grid"]["clock"] == "header stamps"
    assert m["separation"]["min"] == pytest.approx(0.3, abs=1e-9)
    assert m["separation"]["t"] == pytest.approx(6.0, abs=1e-9)
    assert sorted(m["separation"]["pair"]) == ["a", "b"]
    assert [d["min_separation"] for d in m["drones"]] == pytest.approx([0.3, 0.3], abs=1e-9)
    assert m["drones"][0]["distance"] == pytest.approx(np.abs(np.diff(a[:, 0])).sum())
    # near miss: 0.3 < 0.07 + 0.07 + 0.3 for |t - 6| < 0.07 s: one episode, no contact
    (ev,) = m["near_misses"]["events"]
    assert ev["separation"] == pytest.approx(0.3) and ev["t"] == pytest.approx(6.0) and sorted(ev["drones"]) == ["a", "b"]
    assert m["collisions"]["total"] == 0
    tighter = analyze(bag, near_miss=0.1).metrics
    assert tighter["near_misses"]["count"] == 0          # 0.3 > 0.14 + 0.1


@pytest.mark.parametrize("storage", STORAGES)
def test_collisions_obstacles_and_geofence_counted_as_events(tmp_path, storage):
    world = tmp_path / "world.yaml"
    world.write_text(WORLD)
    # a and b cross through each other twice (x = +-cos t); each crossing is one collision
    t = np.round(np.arange(0.0, 7.0, 0.01), 10)
    a = np.stack([np.cos(t), np.zeros_like(t), np.ones_like(t)], axis=1)
    b = a * [-1, 1, 1]
    # c flies north through the crate (y 2.5..3.5) and out of the geofence (y > 5), once each
    c = np.stack([np.zeros_like(t), -1 + t, np.ones_like(t)], axis=1)
    bag = write_bag(tmp_path / "bag", t, {"a": a, "b": b, "c": c}, storage,
                    drones_metadata({"a": CF, "b": CF, "c": CF}))
    m = analyze(bag, world_file=str(world)).metrics
    col = m["collisions"]
    assert (col["drone_drone"], col["obstacle"], col["total"]) == (2, 1, 3)
    assert [e["t"] for e in col["events"] if e["kind"] == "drone"] == pytest.approx([np.pi / 2, 3 * np.pi / 2], abs=0.1)
    (hit,) = [e for e in col["events"] if e["kind"] == "obstacle"]
    assert hit["obstacle"] == "crate" and hit["t"] == pytest.approx(2.5 - 0.07 + 1, abs=0.011)
    assert [d["collisions"] for d in m["drones"]] == [2, 2, 1]
    assert m["geofence"]["violations"] == 1 and m["geofence"]["events"][0]["drone"] == "c"
    assert m["geofence"]["events"][0]["t"] == pytest.approx(6.0, abs=0.011)
    assert m["world"]["name"] == "test_box" and m["notes"] == []


@pytest.mark.parametrize("storage", STORAGES)
def test_polarization_aligned_is_one_and_opposed_is_zero(tmp_path, storage):
    ones = np.ones_like(T)
    fleet = {f"d{k}": np.stack([T * 0.5, k * ones, ones], axis=1) for k in range(5)}       # all east at 0.5 m/s
    m = analyze(write_bag(tmp_path / "same", T, fleet, storage)).metrics
    assert m["polarization"]["min"] == pytest.approx(1.0) and m["polarization"]["max"] == pytest.approx(1.0)
    fleet = {f"d{k}": np.stack([(-1) ** k * T * 0.5, k * ones, ones], axis=1) for k in range(4)}   # two each way
    m = analyze(write_bag(tmp_path / "opposed", T, fleet, storage)).metrics
    assert m["polarization"]["max"] == pytest.approx(0.0, abs=1e-12)
    assert m["polarization"]["steps"] == len(T)


@pytest.mark.parametrize("storage", STORAGES)
def test_rotating_ring_mills_and_straight_flight_does_not(tmp_path, storage):
    n, radius, omega = 8, 3.0, 0.5
    phase = 2 * np.pi * np.arange(n) / n
    ring = {f"r{k}": np.stack([radius * np.cos(omega * T + phase[k]), radius * np.sin(omega * T + phase[k]),
                               1.0 + 0.5 * (k % 2) * np.ones_like(T)], axis=1) for k in range(n)}
    m = analyze(write_bag(tmp_path / "ring", T, ring, storage)).metrics
    assert m["milling"]["min"] > 0.999
    assert m["polarization"]["max"] < 1e-6         # headings around a circle cancel
    ones = np.ones_like(T)
    line = {f"d{k}": np.stack([T, k * ones, ones], axis=1) for k in range(4)}
    assert analyze(write_bag(tmp_path / "line", T, line, storage)).metrics["milling"]["max"] < 1e-9


def test_foreign_bag_without_our_metadata_reports_what_is_unavailable(tmp_path):
    a, b = approach(T, closest=1.0, at=5.0)
    m = analyze(write_bag(tmp_path / "bag", T, {"robot_a": a, "robot_b": b}, "sqlite3")).metrics
    assert [d["name"] for d in m["drones"]] == ["robot_a", "robot_b"]
    assert m["separation"]["min"] == pytest.approx(1.0)
    assert m["collisions"] == {"available": False, "reason": "body radii unknown"}
    assert m["geofence"]["available"] is False and m["coverage"]["available"] is False
    assert m["model_versions"]["reason"].startswith("not recorded") and m["radio"]["reason"].startswith("not recorded")
    assert "centre distance < 0.3 m" in m["near_misses"]["threshold"]
    assert any("body radii unknown" in n for n in m["notes"]) and any("world unknown" in n for n in m["notes"])


def test_drones_present_at_different_times_and_gaps(tmp_path):
    a, b = approach(T, closest=0.5, at=5.0)
    b[:100] = np.nan                      # b starts at t = 2 s
    a[300:340] = np.nan                   # a's odometry has a 0.82 s hole
    m = analyze(write_bag(tmp_path / "bag", T, {"a": a, "b": b})).metrics
    assert m["drones"][0]["odom_gaps"] == {"count": 1, "longest": pytest.approx(0.82)}
    assert m["drones"][1]["samples"] == len(T) - 100
    assert m["separation"]["min"] == pytest.approx(0.5)


def test_model_versions_and_radio_statistics(tmp_path):
    ones = np.ones_like(T)
    pos = {"a": np.stack([0 * T, 0 * T, ones], 1), "b": np.stack([0 * T + 3, 0 * T, ones], 1),
           "c": np.stack([0 * T + 50, 0 * T, ones], 1)}          # c is beyond radio range of a and b
    extra = [("/a/update/status", "std_msgs/msg/String", 1.0, string_cdr(json.dumps({"version": "v1"}))),
             ("/a/update/status", "std_msgs/msg/String", 2.0, string_cdr(json.dumps({"version": "v1"}))),
             ("/a/update/status", "std_msgs/msg/String", 4.0, string_cdr(json.dumps({"version": "v2", "x": 1})))]
    for k in range(10):                  # a and b broadcast 10 beacons each; b hears 8 of a's, a all of b's
        ts = 1.0 + k * 0.5
        extra += [("/a/radio/tx", "std_msgs/msg/Float64MultiArray", ts, multiarray_cdr(["a"])),
                  ("/b/radio/tx", "std_msgs/msg/Float64MultiArray", ts, multiarray_cdr(["b"])),
                  ("/a/radio/rx", "std_msgs/msg/Float64MultiArray", ts + 0.02, multiarray_cdr(["b"]))]
        if k < 8:
            extra.append(("/b/radio/rx", "std_msgs/msg/Float64MultiArray", ts + 0.02, multiarray_cdr(["a"])))
    bag = write_bag(tmp_path / "bag", T, pos, "mcap", drones_metadata({"a": CF, "b": CF, "c": CF}), extra)
    m = analyze(bag).metrics
    mv = m["model_versions"]["per_drone"]
    assert [(e["version"], round(e["t"], 6)) for e in mv["a"]] == [("v1", 1.0), ("v2", 4.0)]
    assert mv["b"] is None and mv["c"] is None
    r = m["radio"]
    assert (r["sent"], r["delivered"]) == (20, 18)
    # no mission: every other present drone counts as a link (c included)
    assert r["links"] == 40 and r["delivery_ratio"] == pytest.approx(18 / 40)
    by = {d["name"]: d for d in r["drones"]}
    assert (by["a"]["sent_and_heard"], by["b"]["sent_and_heard"]) == (8, 10)


def test_field_readers_agree_with_the_full_deserializer():
    from swarm_ros.nodes.cdr import encode_odometry
    for frame, child in (("world", "cf1/base_link"), ("", "x"), ("odom_frame_long", "")):
        raw = encode_odometry(12_345_678_901, frame, child, (1.5, -2.25, 3.0), (0.1, 0.2, 0.3))
        msg = STORE.deserialize_cdr(raw, "nav_msgs/msg/Odometry")
        p = msg.pose.pose.position
        assert odometry_stamp_position(raw) == (msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec, p.x, p.y, p.z)
    raw = multiarray_cdr(["alpha", "b", "gamma12"])
    assert multiarray_labels(raw) == [d.label for d in STORE.deserialize_cdr(raw, "std_msgs/msg/Float64MultiArray").layout.dim]
    whole = encode_odometry(0, "world", "a", (0, 0, 0), (0, 0, 0))
    for cut in (10, 60, len(whole) - 1):
        with pytest.raises(ValueError, match="truncated"):
            odometry_stamp_position(whole[:cut])
    with pytest.raises(ValueError, match="Odometry"):
        odometry_stamp_position(whole[:12] + b"\xff\xff\x00\x00" + whole[16:])    # frame_id length too long


def test_agrees_with_the_live_run_metrics_on_random_flights(tmp_path):
    """The simulator's SwarmMetrics, stepped over the same positions, gives the same figures."""
    from sim.metrics import SwarmMetrics
    from sim.world import load_world
    world_file = tmp_path / "world.yaml"
    world_file.write_text(WORLD)
    world = load_world(world_file)
    rng = np.random.default_rng(3)
    n, steps = 12, 400
    t = np.round(np.arange(steps) * 0.02, 10)
    pos = np.cumsum(rng.normal(0, 0.05, (steps, n, 3)), axis=0) + rng.uniform([-4, -4, 0.5], [4, 4, 2], (n, 3))
    platforms = {f"d{k}": ("px4_x500" if k % 3 == 0 else CF) for k in range(n)}
    bag = write_bag(tmp_path / "bag", t, {f"d{k}": pos[:, k] for k in range(n)}, "mcap", drones_metadata(platforms))
    m = analyze(bag, world_file=str(world_file)).metrics
    from swarm_ros.core.platforms import PLATFORMS
    live = SwarmMetrics([PLATFORMS[p].body_radius for p in platforms.values()], world, pos[0])
    for k in range(1, steps):
        live.update(t[k], pos[k])
    assert [d["collisions"] for d in m["drones"]] == live.collisions.tolist()
    assert [d["geofence_violations"] for d in m["drones"]] == live.fence_violations.tolist() and live.fence_violations.sum() > 0
    assert [d["min_separation"] for d in m["drones"]] == pytest.approx(live.min_separation.tolist(), abs=1e-12)
    assert [d["distance"] for d in m["drones"]] == pytest.approx(live.distance.tolist(), abs=1e-9)
    assert m["collisions"]["total"] == len(live.collision_events) > 0
    assert sorted((round(e["t"], 6), e["kind"]) for e in m["collisions"]["events"]) == \
        sorted((round(float(e[0]), 6), e[1]) for e in live.collision_events)


def test_analysis_runs_without_loading_ros(tmp_path):
    import subprocess
    import sys
    a, b = approach(T, closest=1.0, at=5.0)
    bag = write_bag(tmp_path / "bag", T, {"a": a, "b": b})
    code = ("import sys; from swarm_ros.cli import main; rc = main(['analyze', sys.argv[1], '--out', sys.argv[2]]); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rclpy', 'nav_msgs', 'std_msgs', 'geometry_msgs')))")
    out = subprocess.run([sys.executable, "-c", code, str(bag), str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 []"
