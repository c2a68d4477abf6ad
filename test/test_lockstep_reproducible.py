"""Lockstep runs over ROS fly exactly as the headless runner: same positions at every tick
(to 1e-9 m), same CAO costs, whatever order DDS brings the messages of a tick in. Each ROS run
is compared tick by tick, from its bag, with one headless run of the same mission and seed.
The missions are the shipped ones cut shorter (every phase, and the surveillance objective's
change, still in): what differs is found at its first tick, so a longer run proves no more."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cutmission import cut_mission
from test_end_to_end import read_bag

TOLERANCE = 1e-9   # m; the planner's paths travel with nanosecond stamps, so crossing is not bit-exact


SHORTER = {   # mission -> what is cut: duration (s), and the objective's change moved into it
    "surveillance": {"duration": 56, "objective.changes": [{"at": 26, "params": {"focus": [7, 7, 7, 4]}}]},
    "crossing": {"duration": 30},          # the walls appear at t = 10 s: replanning is in
    "rings": {"duration": 26},
}


def shorter_mission(name: str, folder) -> str:
    """The shipped mission NAME with the changes of SHORTER, as a file in `folder`."""
    return str(cut_mission(name, folder, SHORTER[name]))


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """mission name -> (mission file, mission, positions (ticks + 1, n, 3), summary) of its
    headless run."""
    from swarm_ros.mission import load_mission
    cache = {}
    folder = tmp_path_factory.mktemp("missions")

    def run(name: str):
        if name not in cache:
            path = shorter_mission(name, folder)
            mission = load_mission(path)
            cache[name] = path, mission, *headless_flight(mission)
        return cache[name]
    return run


def headless_flight(mission) -> tuple[list, dict]:
    """Every drone's position after each step of a headless run (index k: tick k; tick 0, the
    start, is read from the bag itself), and the run's summary."""
    from swarm_ros.headless import fly
    positions = [None]
    sim = fly(mission, on_tick=lambda s, _cmd: positions.append(s.position.copy()))
    return positions, sim.summary()


def fly_over_ros(name: str, tmp_path, ros_env, *extra, codes=(0,)) -> tuple[dict, dict]:
    """`swarm-ros launch NAME --speed 0` (a name or a file): its summary and its bag's topics.
    `codes`: the exit codes expected (3: a failed verdict, for missions too short to land)."""
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", name, "--speed", "0", "--run-dir",
                          str(run), "--json", str(tmp_path / "summary.json"), *extra],
                         capture_output=True, text=True, timeout=600, env=dict(ros_env, COLUMNS="160"), cwd=tmp_path)
    assert out.returncode in codes, out.stdout[-3000:] + out.stderr[-3000:]
    return json.loads((tmp_path / "summary.json").read_text()), read_bag(run / "bag")[0]


def assert_same_flight(mission, positions, bag) -> None:
    """Every drone's recorded odometry of tick k (k >= 1) is where the headless run had it after step k."""
    for i, d in enumerate(mission.fleet.drones):
        odom = bag[f"/{d.name}/odom"]
        ticks = [round((o.header.stamp.sec * 10**9 + o.header.stamp.nanosec) * mission.control_rate * 1e-9)
                 for _, o in odom]
        assert sorted(set(ticks)) == list(range(mission.ticks)), d.name
        got = np.array([[o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z] for _, o in odom])
        want = np.array([positions[k][i] if k else got[j] for j, k in enumerate(ticks)])
        err = np.abs(got - want).max(axis=1)
        assert err.max() <= TOLERANCE, f"{d.name} first differs at tick {ticks[int(np.argmax(err > TOLERANCE))]}"


@pytest.mark.parametrize("attempt", [1, 2])
def test_surveillance_over_ros_equals_headless(attempt, headless, tmp_path, ros_env):
    """CAO: the evaluator's answers reach every drone before its next tick, as in the headless run."""
    path, mission, positions, ref = headless("surveillance")
    summary, bag = fly_over_ros(path, tmp_path, ros_env)
    assert_same_flight(mission, positions, bag)
    assert summary["objective"] == ref["objective"]          # J exactly, every iteration counted
    assert summary["min_separation"] == ref["min_separation"]


@pytest.mark.parametrize("attempt", [1, 2])
def test_crossing_over_ros_equals_headless(attempt, headless, tmp_path, ros_env):
    """Planned: each path answer is in before the drone's next tick."""
    path, mission, positions, ref = headless("crossing")
    summary, bag = fly_over_ros(path, tmp_path, ros_env)
    assert_same_flight(mission, positions, bag)
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert summary["radio"] == ref["radio"]


def test_crossing_in_three_drone_processes_equals_headless(headless, tmp_path, ros_env):
    """The fleet split over processes (3, 3 and 2 drones): each group waits only for its own
    drones' odometry, radio and path answers, and the flight is the one the single drone
    process flies (test_crossing_over_ros_equals_headless: both equal the headless run)."""
    path, mission, positions, ref = headless("crossing")
    summary, bag = fly_over_ros(path, tmp_path, ros_env, "--drone-processes", "3")
    assert_same_flight(mission, positions, bag)
    assert summary["radio"] == ref["radio"]
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert len(list((tmp_path / "run" / "logs").glob("*_drones_*of3.log"))) == 3


def test_rings_in_per_drone_processes_equal_headless(headless, tmp_path, ros_env):
    """One process per drone: the beacons of a tick reach the simulator in any order and are
    still sent in sender order; every drone waits for its own radio messages. (A controller
    evaluated for one drone and for the whole batch agree to rounding, not bit for bit.)"""
    path, mission, positions, ref = headless("rings")
    summary, bag = fly_over_ros(path, tmp_path, ros_env, "--per-drone-processes")
    assert_same_flight(mission, positions, bag)
    assert summary["radio"] == ref["radio"]
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert [d["distance"] for d in summary["drones"]] == pytest.approx([d["distance"] for d in ref["drones"]],
                                                                       rel=1e-9)
