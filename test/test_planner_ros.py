"""The planner over real DDS: drones request GMT* paths on their own topics and fly the answers."""
from __future__ import annotations

import json

from conftest import REPO
from test_cao_ros import launch_to_end
from test_end_to_end import read_bag

from swarm_ros.mission import load_mission

CROSSING = REPO / "config" / "missions" / "crossing.yaml"


def stamp(s) -> float:
    return s.sec + s.nanosec * 1e-9


def test_crossing_over_dds_plans_every_drone_and_replans_around_the_walls(tmp_path, ros_env):
    out = launch_to_end(str(CROSSING), tmp_path / "run", ros_env, "--speed", "0")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0
    assert all(d["landed"] for d in summary["drones"])
    assert "roadmaps of 8 drones built" in next((tmp_path / "run" / "logs").glob("*_planner.log")).read_text()
    assert "mission OK" in out

    messages, _ = read_bag(tmp_path / "run" / "bag")
    replanned = 0
    for d in load_mission(CROSSING).fleet.drones:
        requests = [m for _, m in messages[f"/{d.name}/plan/request"]]
        paths = [m for _, m in messages[f"/{d.name}/plan/path"]]
        assert requests and paths, d.name
        ids = {round(r.request_id, 6) for r in requests}
        for path in paths:                       # each answers a request, with timed poses
            assert round(stamp(path.header.stamp), 6) in ids and path.header.frame_id == "world"
            times = [stamp(p.header.stamp) for p in path.poses]
            assert len(times) >= 2 and times == sorted(times) and times[0] == stamp(path.header.stamp)
        replanned += any(r.obstacles for r in requests)   # a request carrying a sensed wall
    assert replanned >= 3
    # the view draws the walls faint until they appear, then republishes the world
    faint = [sum(m.ns == "obstacles" and m.color.a < 0.5 for m in w.markers) for _, w in messages["/swarm/world"]]
    assert faint[0] == 2 and faint[-1] == 0
