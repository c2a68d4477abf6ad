"""The recorder stalled (SIGSTOP) during whole runs through `swarm-ros launch`, in lockstep and in
real time, and how the runner counts what a bag lost. (A file of its own, apart from
test_fault_runs.py: pytest-xdist runs files whole, and these minutes run beside those.)"""
from __future__ import annotations

import json
import os
import signal
import time

from conftest import _domains
from ros2util import stall_recorder
from test_end_to_end import odometry_stamps_are_every_tick, read_bag
from test_fault_runs import finish, launch, pid_of, says, wait_for


def test_lockstep_waits_for_a_stalled_recorder_and_the_bag_misses_nothing(tmp_path, rings_mission):
    """SIGSTOP the recorder mid-run for longer than the old 10 s patience: in lockstep the simulator
    would outrun it by far more than the reliable history holds; with the recorder's progress
    reports it waits (and says so, without ever running on), and the bag holds every tick's
    odometry of every drone, with the stall inside the recording."""
    import numpy as np
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "rings", "--speed", "0")
    wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
    time.sleep(1.0)                                              # some seconds of mission recorded
    recorder = pid_of(run, "recorder")
    stopped_while_running = proc.poll() is None
    os.kill(recorder, signal.SIGSTOP)
    try:
        wait_for(lambda: says(run, "simulator", "waiting for the recorder"), "wait for the recorder", proc)
        time.sleep(12)
    finally:
        os.kill(recorder, signal.SIGCONT)
    out = finish(proc)
    assert stopped_while_running and proc.returncode == 0, out[-3000:]
    assert "waiting for the recorder" in out
    assert "running on without waiting" not in (run / "logs" / "00_simulator.log").read_text(errors="replace")
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["data_lost"] == {} and s["lost"] == []
    messages, _ = read_bag(run / "bag")
    for name in rings_mission.fleet.names:
        odom = messages[f"/{name}/odom"]
        assert odometry_stamps_are_every_tick(odom, rings_mission), name
        received = np.sort([t for t, _ in odom])
        assert np.diff(received).max() > 2.5e9, name             # the stall happened while recording


def test_real_time_counts_what_a_stalled_recorder_lost_and_the_run_fails(tmp_path):
    """In real time the simulator cannot wait: a recorder stalled past its history loses
    messages, and the run says how many per topic and fails (exit 3). The 20 s
    first_flight: the stall takes 8 s of it. Should nothing reach the resumed recorder again in
    time, summary included (seen with Fast DDS's default 3 s writer heartbeat, bench/dds_stall.py),
    the runner counts the losses from the ticks it knows and what the bag holds: it fails then too."""
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "first_flight", "--speed", "1")
    wait_for(lambda: says(run, "simulator", "starts at x1"), "mission start", proc)
    stall_recorder(pid_of(run, "recorder"))
    out = finish(proc)
    assert proc.returncode == 3, out[-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["data_lost"] and all(n > 0 for n in s["data_lost"].values())
    assert "data lost:" in out and "/odom messages" in out and "mission OK" not in out
    messages, _ = read_bag(run / "bag")
    for topic, n in s["data_lost"].items():     # what the summary says is what the bag misses
        assert len({m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in messages[topic]}) == s["ticks"] - n


def test_the_runner_counts_losses_from_its_own_ticks_when_the_recorder_could_not(tmp_path):
    """A recorder cut off before the summary came writes no losses ("{}"): what it wrote, against
    the ticks the runner knows, still names them; a bag of an older recorder keeps its count."""
    import yaml
    from swarm_ros.runner import bag_losses
    custom = {"swarm_ros.lost": "{}", "swarm_ros.odom_written": json.dumps({"/cf1/odom": 105, "/cf2/odom": 1000})}
    (tmp_path / "metadata.yaml").write_text(yaml.safe_dump({"rosbag2_bagfile_information": {"custom_data": custom}}))
    assert bag_losses(tmp_path, 1000) == {"/cf1/odom": 895}
    assert bag_losses(tmp_path) == {}
    del custom["swarm_ros.odom_written"]
    custom["swarm_ros.lost"] = json.dumps({"/cf1/odom": 7})
    (tmp_path / "metadata.yaml").write_text(yaml.safe_dump({"rosbag2_bagfile_information": {"custom_data": custom}}))
    assert bag_losses(tmp_path, 1000) == {"/cf1/odom": 7}
