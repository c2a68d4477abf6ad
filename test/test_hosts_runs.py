"""Whole runs on separate hosts (`swarm-ros launch --hosts N`): rings in lockstep with one drone
process per drone on three drone hosts and a ground host flies exactly as the headless run, with
simple discovery and with a Discovery Server; a drone host whose link goes down and up loses its
drones to the failsafe and gets them back, and the bag shows the gap, also after a gap longer than
the DDS participant lease (in real time); a killed drone host loses its drones for good. A run
that lost drones exits 3. Every namespace a run made is gone afterwards."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import _domains
from swarm_ros import netns
from test_end_to_end import read_bag
from test_lockstep_reproducible import TOLERANCE, assert_same_flight, headless_flight

needs_hosts = pytest.mark.skipif(netns.unavailable() is not None,
                                 reason=f"no network namespaces: {netns.unavailable()}")
RUN_LIMIT = 400


def launch_on_hosts(tmp_path, *args: str, speed: str = "0") -> tuple[subprocess.CompletedProcess, dict | None, int]:
    """`swarm-ros launch rings --speed SPEED ARGS`; its output, summary (None if none) and pid."""
    env = dict(os.environ, ROS_DOMAIN_ID=str(next(_domains)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", COLUMNS="160")
    proc = subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", "launch", "rings", "--speed", speed, *args,
                             "--run-dir", str(tmp_path / "run"), "--json", str(tmp_path / "summary.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        out, _ = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the run did not end: " + proc.communicate()[0][-3000:])
    summary = tmp_path / "summary.json"
    # the run's namespaces carry its pid as their tag: none may be left
    left = [n for n in netns._list_namespaces() if n.startswith(f"sr{proc.pid}")]
    assert not left, left
    return subprocess.CompletedProcess(proc.args, proc.returncode, out), \
        json.loads(summary.read_text()) if summary.is_file() else None, proc.pid


@pytest.fixture(scope="module")
def rings_headless(rings_mission):
    positions, summary = headless_flight(rings_mission)
    return positions, summary


@needs_hosts
@pytest.mark.parametrize("discovery", ["simple", "server"])
def test_rings_on_four_hosts_flies_as_the_headless_run(discovery, tmp_path, rings_mission, rings_headless):
    positions, ref = rings_headless
    run, s, _ = launch_on_hosts(tmp_path, "--hosts", "4", "--discovery", discovery)
    assert run.returncode == 0, run.stdout[-3000:]
    assert s["hosts"]["n"] == 4 and s["hosts"]["discovery"] == discovery
    # one process per drone, dealt over hosts 1-3; every host's link carried the run's traffic
    assert sorted(s["hosts"]["drone_hosts"].values()) == [1, 1, 2, 2, 3, 3]
    assert all(s["hosts"]["traffic"][str(i)]["rx_packets"] > 0 for i in range(4))
    if discovery == "server":
        assert "discovery server up" in (tmp_path / "run" / "logs" / "discovery_server.log").read_text()
    messages, _ = read_bag(tmp_path / "run" / "bag")
    assert_same_flight(rings_mission, positions, messages)
    assert s["radio"] == ref["radio"]
    assert s["min_separation"] == pytest.approx(ref["min_separation"], abs=TOLERANCE)
    assert s["lost"] == [] and "mission OK" in run.stdout


def stamps(messages, topic: str) -> list[float]:
    return [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for _, m in messages[topic]]


def assert_bag_shows_the_gap(tmp_path, s: dict, names, down: float, up: float):
    """The bag of a run whose drones `names` lost their link from `down` to `up`: `lost` then
    `back` on /swarm/events for each, no command from them between the loss and the link coming
    up, commands before the loss and after the rejoin. Returns the bag's messages."""
    messages, _ = read_bag(tmp_path / "run" / "bag")
    events = [json.loads(m.data) for _, m in messages["/swarm/events"]]
    for name in names:
        assert [e["event"] for e in events if e.get("name") == name] == ["lost", "back"]
        loss = next(e for e in s["lost"] if e["name"] == name)
        sent = stamps(messages, f"/{name}/cmd")
        assert not [t for t in sent if loss["t"] < t < up]
        assert any(t < down for t in sent) and any(t > loss["rejoined"] for t in sent)
    return messages


@needs_hosts
def test_a_drone_host_whose_link_goes_down_and_up_loses_and_regains_its_drones(tmp_path, rings_mission):
    run, s, _ = launch_on_hosts(tmp_path, "--hosts", "4", "--lost-after", "2", "--link-down", "2:8-14")
    assert run.returncode == 3, run.stdout[-3000:]          # drones were lost: the mission failed
    on_host_2 = {d for d, h in s["hosts"]["drone_hosts"].items() if h == 2}
    assert len(on_host_2) == 2
    assert [(f["event"], f["host"]) for f in s["hosts"]["faults"]] == [("link down", 2), ("link up", 2)]
    down, up = (f["t"] for f in s["hosts"]["faults"])
    # the mission went on to its end; only host 2's drones were lost, each came back after the link did
    assert s["sim_time"] == pytest.approx(rings_mission.duration)
    assert {e["name"] for e in s["lost"]} == on_host_2
    for e in s["lost"]:
        assert down <= e["t"] < up <= e["rejoined"]
    assert all(d["landed"] for d in s["drones"]) and s["collisions"] == 0
    # the bag: lost and back on /swarm/events; no command from those drones in the gap, and
    # commands again after it; the others never stopped
    messages = assert_bag_shows_the_gap(tmp_path, s, on_host_2, down, up)
    for name in set(s["hosts"]["drone_hosts"]) - on_host_2:
        assert len(set(stamps(messages, f"/{name}/cmd"))) == rings_mission.ticks
    assert "link down at" in run.stdout and "is back at" in run.stdout


LEASE = 20.0   # s: a Fast DDS participant unheard of this long is dropped (the ROS default)


@needs_hosts
def test_a_link_down_longer_than_the_dds_lease_still_gets_the_drones_back(tmp_path, rings_mission):
    """In real time, so that the gap outlasts the lease in wall time too: every participant drops
    the others' across the link, and they must discover each other anew once it is back."""
    run, s, _ = launch_on_hosts(tmp_path, "--hosts", "3", "--link-down", "1:3-26", speed="1")
    assert run.returncode == 3, run.stdout[-3000:]          # drones were lost: the mission failed
    on_host_1 = {d for d, h in s["hosts"]["drone_hosts"].items() if h == 1}
    down, up = (f["t"] for f in s["hosts"]["faults"])
    assert up - down > LEASE
    # only host 1's drones were lost; each came back after the link did, before the mission ended
    assert {e["name"] for e in s["lost"]} == on_host_1
    for e in s["lost"]:
        assert e["rejoined"] is not None, run.stdout[-3000:]
        assert down <= e["t"] < up <= e["rejoined"] < rings_mission.duration
    assert_bag_shows_the_gap(tmp_path, s, on_host_1, down, up)


@needs_hosts
def test_a_killed_drone_host_loses_its_drones_and_the_run_fails(tmp_path, rings_mission):
    run, s, _ = launch_on_hosts(tmp_path, "--hosts", "3", "--discovery", "server", "--lost-after", "2",
                                "--kill-host", "1:10")
    assert run.returncode == 3, run.stdout[-3000:]
    on_host_1 = {d for d, h in s["hosts"]["drone_hosts"].items() if h == 1}
    assert len(on_host_1) == 3
    assert s["hosts"]["faults"][0]["event"] == "killed" and "1" not in s["hosts"]["traffic"]
    assert s["sim_time"] == pytest.approx(rings_mission.duration)
    assert {e["name"] for e in s["lost"]} == on_host_1
    assert all(e["rejoined"] is None and e["t"] >= 10 for e in s["lost"])
    assert len(s["lost_processes"]) == 3
    # their failsafe landed them; the drones of host 2 flew the mission and landed
    assert all(d["landed"] for d in s["drones"])
    assert "MISSION FAILED" in run.stdout and "lost at" in run.stdout


def cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", "rings", *args], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, env=dict(os.environ, ROS_DOMAIN_ID=str(next(_domains))))


@pytest.mark.parametrize("args, says", [
    (["--hosts", "1"], "needs at least 2"),
    (["--hosts", "3", "--link-down", "0:5-9"], "host 0 is not a drone host"),
    (["--hosts", "3", "--link-down", "2:9-5"], "START < END"),
    (["--hosts", "3", "--kill-host", "2"], "expected HOST:TIME"),
    (["--hosts", "3", "--kill-host", "1:99"], "0-38 s"),
    (["--link-down", "1:5-9"], "need --hosts N"),
    (["--hosts", "3", "--view", "foxglove"], "use one or the other"),
])
@needs_hosts
def test_bad_host_options_are_one_line_and_exit_2(args, says, tmp_path):
    out = cli(*args, tmp_path=tmp_path)
    assert out.returncode == 2 and says in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_hosts_without_root_is_one_line_and_exit_2(tmp_path):
    """As an unprivileged user (everything it needs imported first, as root)."""
    if os.geteuid() != 0:
        out = cli("--hosts", "3", tmp_path=tmp_path)
    else:
        probe = ("import os, sys\nfrom swarm_ros.cli import build_parser, main\nimport swarm_ros.netns, swarm_ros.preflight, swarm_ros.run_guard, swarm_ros.runner, rich.console\n"
                 "build_parser(); rich.console.Console(width=120)\n"
                 "os.chdir(sys.argv[1]); os.setuid(65534)\nsys.exit(main(['launch', 'rings', '--hosts', '3']))")
        os.chmod(tmp_path, 0o777)
        out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip() == "error: --hosts: network namespaces need root (run as root)"
