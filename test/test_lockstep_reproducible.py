"""Lockstep runs over ROS fly exactly as the headless runner: same positions at every tick
(to 1e-9 m), same CAO costs, whatever order DDS brings the messages of a tick in. Each ROS run
is compared tick by tick, from its bag, with one headless run of the same mission and seed.
The missions are the shipped ones cut shorter (every phase, and the surveillance objective's
change, still in): what differs is found at its first tick, so a longer run proves no more."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

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


TRACES: dict[str, dict] = {}   # mission file -> its headless run's commands and radio deliveries


def headless_flight(mission) -> tuple[list, dict]:
    """Every drone's position after each step of a headless run (index k: tick k; tick 0, the
    start, is read from the bag itself), and the run's summary. Its commands and deliveries go
    to TRACES, for a failure to show where a ROS flight left it."""
    from sim.engine import SwarmSim
    from swarm_ros.headless import fly
    positions, commands, radio = [None], [], []
    deliveries = SwarmSim.deliveries

    def traced(sim):
        out = deliveries(sim)
        radio.extend((sim.tick, int(r), int(s), float(t)) for d in out
                     for r, s, t in zip(d.receiver, d.sender, d.sent_at))
        return out
    SwarmSim.deliveries = traced
    try:
        sim = fly(mission, on_tick=lambda s, cmd: (positions.append(s.position.copy()), commands.append(cmd.copy())))
    finally:
        SwarmSim.deliveries = deliveries
    TRACES[mission.file] = {"cmd": commands, "radio": radio}
    return positions, sim.summary()


def tick_of(msg, mission) -> int:
    """The control tick a recorded message's header stamp (mission time) is of."""
    return round((msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec) * mission.control_rate * 1e-9)


def divergence(mission, i: int, tick: int, bag) -> str:
    """Drone i's commands before `tick` and the beacons it heard in the last second, over ROS
    (its bag) and headless: what a flight that left the headless one at `tick` did differently."""
    trace, name = TRACES.get(mission.file), mission.fleet.drones[i].name
    if trace is None:
        return ""
    ros_cmd = {tick_of(m, mission): [m.twist.linear.x, m.twist.linear.y, m.twist.linear.z]
               for _, m in bag[f"/{name}/cmd"]}
    lines = [f"tick {k}: command over ROS {ros_cmd.get(k)}, headless {trace['cmd'][k][i].tolist()}"
             for k in range(max(0, tick - 4), tick)]
    names, t = list(mission.fleet.names), tick / mission.control_rate
    ros_heard = [(b.sender, round(b.sent_at, 6)) for _, m in bag[f"/{name}/radio/rx"] for b in m.beacons
                 if t - 1.0 <= b.sent_at <= t]
    headless_heard = [(names[s], round(at, 6)) for k, r, s, at in trace["radio"]
                      if r == i and k <= tick and t - 1.0 <= at <= t]
    lines.append(f"beacons heard in the last second only over ROS {sorted(set(ros_heard) - set(headless_heard))}, "
                 f"only headless {sorted(set(headless_heard) - set(ros_heard))} (of {len(headless_heard)})")
    return "\n".join(lines) + "\n"


def fly_over_ros(name: str, tmp_path, ros_env, *extra, codes=(0,)) -> tuple[dict, dict]:
    """`swarm-ros launch NAME --speed 0` (a name or a file): its summary and its bag's topics.
    `codes`: the exit codes expected (3: a failed verdict, for missions too short to land)."""
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", name, "--speed", "0", "--run-dir",
                          str(run), "--json", str(tmp_path / "summary.json"), *extra],
                         capture_output=True, text=True, timeout=600, env=dict(ros_env, COLUMNS="160"), cwd=tmp_path)
    assert out.returncode in codes, out.stdout[-3000:] + out.stderr[-3000:] + "\n" + log_tails(run)
    return json.loads((tmp_path / "summary.json").read_text()), read_bag(run / "bag")[0]


def log_tails(run, lines: int = 12) -> str:
    """The ends of a failed run's non-empty node logs (a failed run leaves its live processes'
    stacks there): which process was stuck, and where."""
    out = []
    for log in sorted((run / "logs").glob("*.log")) if (run / "logs").is_dir() else []:
        text = log.read_text(errors="replace").splitlines()
        if text:
            out.append(f"--- {log.name}:\n" + "\n".join(text[-lines:]))
    return "\n".join(out)[-6000:]


def warnings_of(run) -> str:
    """The warnings and errors in a run's node logs: why a flight left the headless one."""
    lines = [f"{log.name}: {line}" for log in sorted((run / "logs").glob("*.log"))
             for line in log.read_text(errors="replace").splitlines() if "WARN" in line or "ERROR" in line]
    return "\n".join(lines[-20:]) or "no warnings in the logs"


def assert_same_flight(mission, positions, bag, run=None) -> None:
    """Every drone's recorded odometry of tick k (k >= 1) is where the headless run had it after
    step k. `run`: the run folder, whose warnings a failure shows."""
    for i, d in enumerate(mission.fleet.drones):
        odom = bag[f"/{d.name}/odom"]
        ticks = [tick_of(o, mission) for _, o in odom]
        assert sorted(set(ticks)) == list(range(mission.ticks)), d.name
        got = np.array([[o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z] for _, o in odom])
        want = np.array([positions[k][i] if k else got[j] for j, k in enumerate(ticks)])
        err = np.abs(got - want).max(axis=1)
        if err.max() > TOLERANCE:
            first = ticks[int(np.argmax(err > TOLERANCE))]
            pytest.fail(f"{d.name} first differs at tick {first}\n" + divergence(mission, i, first, bag)
                        + (warnings_of(run) if run else ""))


def test_surveillance_over_ros_equals_headless(headless, tmp_path, ros_env):
    """CAO: the evaluator's answers reach every drone before its next tick, as in the headless run."""
    path, mission, positions, ref = headless("surveillance")
    summary, bag = fly_over_ros(path, tmp_path, ros_env)
    assert_same_flight(mission, positions, bag, tmp_path / "run")
    assert summary["objective"] == ref["objective"]          # J exactly, every iteration counted
    assert summary["min_separation"] == ref["min_separation"]


def test_surveillance_with_stalled_processes_equals_headless(headless, tmp_path):
    """A loaded machine can stall any process for a second or more. Here the CAO evaluator, then
    the drones' process, are each stopped (SIGSTOP) for 1.5 s mid-run: lockstep waits for peers
    whose publishers live, so the run still flies exactly as the headless one (with waits of
    0.8-1 s, the drones flew on without the evaluator's answers and the simulator hovered them)."""
    from conftest import _domains
    from test_fault_runs import finish, killed_if_left, launch, pid_of, says, wait_for
    path, mission, positions, ref = headless("surveillance")
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), path, "--speed", "0")
    with killed_if_left(proc):
        wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
        for label in ("objective", "drones"):
            time.sleep(2)
            pid = pid_of(run, label)
            os.kill(pid, signal.SIGSTOP)
            time.sleep(1.5)
            os.kill(pid, signal.SIGCONT)
        out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert_same_flight(mission, positions, read_bag(run / "bag")[0], run)
    assert json.loads((tmp_path / "summary.json").read_text())["objective"] == ref["objective"]


@pytest.mark.parametrize("attempt", [1, 2])
def test_crossing_over_ros_equals_headless(attempt, headless, tmp_path, ros_env):
    """Planned: each path answer is in before the drone's next tick."""
    path, mission, positions, ref = headless("crossing")
    summary, bag = fly_over_ros(path, tmp_path, ros_env)
    assert_same_flight(mission, positions, bag, tmp_path / "run")
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert summary["radio"] == ref["radio"]


def test_crossing_in_three_drone_processes_equals_headless(headless, tmp_path, ros_env):
    """The fleet split over processes (3, 3 and 2 drones): each group waits only for its own
    drones' odometry, radio and path answers, and the flight is the one the single drone
    process flies (test_crossing_over_ros_equals_headless: both equal the headless run)."""
    path, mission, positions, ref = headless("crossing")
    summary, bag = fly_over_ros(path, tmp_path, ros_env, "--drone-processes", "3")
    assert_same_flight(mission, positions, bag, tmp_path / "run")
    assert summary["radio"] == ref["radio"]
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert len(list((tmp_path / "run" / "logs").glob("*_drones_*of3.log"))) == 3


def test_rings_in_per_drone_processes_equal_headless(headless, tmp_path, ros_env):
    """One process per drone: the beacons of a tick reach the simulator in any order and are
    still sent in sender order; every drone waits for its own radio messages. (A controller
    evaluated for one drone and for the whole batch agree to rounding, not bit for bit.)"""
    path, mission, positions, ref = headless("rings")
    summary, bag = fly_over_ros(path, tmp_path, ros_env, "--per-drone-processes")
    assert_same_flight(mission, positions, bag, tmp_path / "run")
    assert summary["radio"] == ref["radio"]
    assert summary["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert [d["distance"] for d in summary["drones"]] == pytest.approx([d["distance"] for d in ref["drones"]],
                                                                       rel=1e-9)
