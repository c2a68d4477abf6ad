"""Missions flown batched without ROS: the default mission is safe and does what it says."""
from pathlib import Path

import numpy as np
import pytest
from ringshape import assert_real_rings

from swarm_ros.headless import fly
from swarm_ros.mission import load_mission


def test_default_mission_is_safe_forms_both_rings_and_lands(rings_mission):
    m = rings_mission
    at_task_end = {}

    def watch(sim, _cmd):
        if abs(sim.t - (m.phases.task_end - m.dt)) < 1e-9:
            at_task_end["p"], at_task_end["v"] = sim.position.copy(), sim.velocity.copy()
    sim = fly(m, on_tick=watch)
    s = sim.summary()
    # two real rings: each spread evenly round the tower, every drone settled when the task ends
    assert_real_rings(m, at_task_end["p"], at_task_end["v"])
    # separation by phase: the Crazyflies' pads are 1 m apart; in flight they never come closer
    assert s["min_separation_pads"] == pytest.approx(1.0) and s["min_separation_takeoff_landing"] >= 1.0 - 1e-6
    assert 0.9 < s["min_separation"] <= s["min_separation_takeoff_landing"] + 1e-6
    assert all(d["min_separation"] >= s["min_separation"] for d in s["drones"])
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    assert all(d["landed"] for d in s["drones"])
    assert min(d["distance"] for d in s["drones"]) > 5.0          # everyone actually flew
    p = at_task_end["p"]
    for d in m.fleet.drones:
        params = m.roles[d.role].params
        q = p[d.index]
        off = np.hypot(np.hypot(q[0] - params.center[0], q[1] - params.center[1]) - params.radius, q[2] - params.center[2])
        assert off < 0.3, f"{d.name} is {off:.2f} m off its ring at the end of the task"
    assert s["radio"]["delivered"] > 0 and s["radio"]["lost"] > 0   # the radio model was in play
    clearance = m.world.clearance(sim.position)
    assert (clearance > 0).all()


def test_headless_runs_are_repeatable(rings_mission):
    a, b = fly(rings_mission).summary(), fly(rings_mission).summary()
    assert a == b


def test_scaled_sphere_mission_without_collisions(tmp_path: Path):
    from scenarios import write_scaled_mission
    m = load_mission(write_scaled_mission(tmp_path, 30, duration=50.0))
    s = fly(m).summary()
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    assert all(d["landed"] for d in s["drones"])
