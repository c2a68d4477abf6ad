"""Faults during whole runs through `swarm-ros launch`: a drone process killed (and restarted)
or stuck in its start-up, the simulator killed, two missions on one domain, and the
shared-memory files a run leaves behind. (The recorder stalled: test_recorder_faults.py.)"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import _domains
from ros2util import short_rings
from test_end_to_end import read_bag

RUN_LIMIT = 400   # s: a whole run here; a lockstep run that waits 1 s per tick for a dead drone takes ~40 min


def launch(tmp: Path, domain: int, *args: str) -> subprocess.Popen:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "swarm_ros.cli", "launch", *args, "--run-dir", str(tmp / "run"),
                             "--json", str(tmp / "summary.json")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)


def wait_for(predicate, what: str, proc: subprocess.Popen, limit: float = RUN_LIMIT):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.stdout.read()[-3000:]}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no {what} within {limit:g} s: {proc.communicate()[0][-3000:]}")


def log_of(run: Path, label: str) -> Path | None:
    found = sorted((run / "logs").glob(f"*_{label}.log")) if (run / "logs").is_dir() else []
    return found[0] if found else None


def says(run: Path, label: str, text: str) -> bool:
    log = log_of(run, label)
    return log is not None and text in log.read_text(errors="replace")


def started_pid(run: Path, label: str) -> int | None:
    """The pid of the run's process `label` once the run has started it (pids.txt), else None."""
    pids = run / "logs" / "pids.txt"
    for line in pids.read_text().splitlines() if pids.is_file() else []:
        pid, name = line.split()
        if name.endswith(f"_{label}.log"):
            return int(pid)
    return None


def pid_of(run: Path, label: str) -> int:
    pid = started_pid(run, label)
    if pid is None:
        raise LookupError(label)
    return pid


@contextmanager
def killed_if_left(proc: subprocess.Popen):
    """Kill a run the test leaves before it ended (a failed wait or assertion), so no process
    outlives the test."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the run did not end: " + proc.communicate()[0][-3000:])
    return out


def test_a_killed_drone_is_lost_the_swarm_flies_on_and_a_restarted_one_rejoins(tmp_path, rings_mission):
    """SIGKILL one drone process in a lockstep run: it is declared lost (summary, bag, verdict),
    the others fly the whole mission; the same drone started again rejoins. Afterwards no Fast
    DDS shared-memory file the run's processes used is left in /dev/shm (but the ports every
    domain shares, which runs beside it may hold)."""
    from swarm_ros import shm
    run = tmp_path / "run"
    domain = next(_domains)
    proc = launch(tmp_path, domain, "rings", "--speed", "0", "--per-drone-processes")
    wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
    used: set[str] = set()
    pids = [int(line.split()[0]) for line in (run / "logs" / "pids.txt").read_text().splitlines()]
    for pid in pids:
        used |= shm.files_of(pid)
    victim = pid_of(run, "cf2_drone")
    cmdline = Path(f"/proc/{victim}/cmdline").read_bytes().split(b"\0")[:-1]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: says(run, "simulator", "drone cf2 lost"), "loss of cf2", proc)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    with open(tmp_path / "restarted.log", "wb") as log:
        again = subprocess.Popen([c.decode() for c in cmdline], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: says(run, "simulator", "drone cf2 is back"), "cf2 rejoining", proc)
    finally:
        # it ends again before the run does, so that the run's clean-up finds its files unused
        again.send_signal(signal.SIGINT)
        again.wait(20)
    out = finish(proc)
    assert proc.returncode == 3, out[-3000:]           # a drone was lost: the mission failed
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["sim_time"] == pytest.approx(rings_mission.duration)
    assert {e["name"] for e in s["lost"]} == {"cf2"}
    loss = s["lost"][0]
    assert 0 < loss["t"] < rings_mission.duration
    assert loss["rejoined"] is not None and loss["rejoined"] >= loss["t"]
    assert "drone cf2 lost at" in out and "mission OK" not in out
    messages, _ = read_bag(run / "bag")
    events = [json.loads(m.data) for _, m in messages["/swarm/events"]]
    assert [e["event"] for e in events if e.get("name") == "cf2"][:2] == ["lost", "back"]
    # files shared with other domains' participants (other test workers) are theirs to clean too
    ours = {n for n in shm.with_companions(used) if not shm.shared_by_domains(n, domain)}
    assert any(n.startswith("fastdds_port") for n in ours)       # the domain's own ports are checked
    left = {n for n in ours if (shm.SHM / n).exists()} - shm.in_use()
    assert not left, sorted(left)[:10]


def test_a_killed_drone_group_is_lost_and_the_other_group_flies_on(tmp_path, rings_mission):
    """--drone-processes 2: SIGKILL the process of the second group (cf4, x1, x2) in lockstep.
    Its drones are declared lost, as one drone process's are; the first group flies the whole
    mission, and the runner reports the lost process instead of aborting the run."""
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "rings", "--speed", "0", "--drone-processes", "2")
    wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
    os.kill(pid_of(run, "drones_2of2"), signal.SIGKILL)
    out = finish(proc)
    assert proc.returncode == 3, out[-3000:]           # drones were lost: the mission failed
    assert "drone (drones_2of2) exited with code -9" in out and "the mission goes on" in out, out[-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["sim_time"] == pytest.approx(rings_mission.duration)
    assert {e["name"] for e in s["lost"]} == {"cf4", "x1", "x2"}
    assert s["lost_processes"] == ["drone (drones_2of2)"]


def test_a_second_mission_on_a_live_domain_is_refused_and_auto_picks_another(tmp_path):
    """While one run flies on a domain, a second launch there stops with one line and exit 2;
    `--domain-id auto` (its probe) passes over the busy domain."""
    from swarm_ros.run_guard import free_domain
    domain = next(_domains)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    rings = short_rings(tmp_path, duration=16.0)                                  # the second starts meanwhile
    first = launch(first_dir, domain, str(rings), "--speed", "1", "--no-record")
    try:
        wait_for(lambda: says(first_dir / "run", "simulator", "starts at x1"), "mission start", first)
        second = launch(second_dir, domain, "first_flight", "--speed", "0", "--no-record")
        out = finish(second)
        assert second.returncode == 2, out[-3000:]
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and f"another mission is live on ROS domain {domain}" in errors[0]
        assert not (second_dir / "run" / "logs").exists()       # none of its nodes started
        assert free_domain(domain, tries=5) != domain
        out = finish(first)
        assert first.returncode == 0, out[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_a_killed_planner_does_not_stop_or_freeze_the_lockstep_run(tmp_path):
    """The planner service is not in the tick barrier: killed mid-mission, the run flies to its
    end with the drones' last plans, and the summary and verdict name the lost service. (The
    crossing cut to 30 s: each tick a drone waits for the dead planner costs 0.8 s of wall time.)"""
    from test_lockstep_reproducible import SHORTER, shorter_mission
    run = tmp_path / "run"
    crossing = shorter_mission("crossing", tmp_path)
    proc = launch(tmp_path, next(_domains), crossing, "--speed", "0", "--no-record")
    wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
    time.sleep(3)
    os.kill(pid_of(run, "planner"), signal.SIGKILL)
    out = finish(proc)
    assert proc.returncode == 3, out[-3000:]           # a service was lost: the mission failed
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["sim_time"] == pytest.approx(SHORTER["crossing"]["duration"])
    assert [e["name"] for e in s["lost_services"]] == ["planner"]
    assert "service planner lost at t=" in out and "mission OK" not in out


def test_a_killed_simulator_fails_the_run_and_leaves_every_live_process_stack_in_its_log(tmp_path, rings_mission):
    """The run fails at once (non-zero exit, the simulator's exit code named), and before it
    stops the other processes each writes its Python stacks to its log: a run that failed on a
    stuck process says where that process was."""
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "rings", "--speed", "0", "--no-record")
    wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
    os.kill(pid_of(run, "simulator"), signal.SIGKILL)
    out = finish(proc)
    assert proc.returncode not in (0, None) and "(/swarm/simulator) exited with code -9" in out, out[-3000:]
    assert "the stacks of the processes still running are in their logs" in out
    drones = log_of(run, "drones").read_text(errors="replace")
    assert "most recent call first" in drones and "swarm_ros/nodes/runtime.py" in drones, drones[-2000:]


def test_a_hung_simulator_fails_the_run_instead_of_leaving_it_waiting(tmp_path):
    """A simulator that stops mid-mission (SIGSTOP: alive, silent, as a deadlocked one) fails the
    run after runner.SIMULATOR_SILENT s without a status, non-zero, and is stopped with the rest."""
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "rings", "--speed", "0", "--no-record")
    with killed_if_left(proc):
        wait_for(lambda: says(run, "simulator", "starts in lockstep"), "mission start", proc)
        hung = pid_of(run, "simulator")
        os.kill(hung, signal.SIGSTOP)
        out = finish(proc)
    assert proc.returncode not in (0, None), out[-3000:]
    assert "the simulator has sent no status for 30 s but still runs (hung?)" in out, out[-3000:]
    assert not alive(hung)


def test_processes_stuck_in_start_up_are_started_again_and_the_mission_flies(tmp_path, rings_mission):
    """The simulator, a drone process and the recorder that never join (here stopped with SIGSTOP
    before they made their first node, as a process deadlocked inside DDS start-up stays) are
    killed and started again after stuck_start.STUCK_AFTER s, once; the mission then flies and
    records as usual."""
    run = tmp_path / "run"
    proc = launch(tmp_path, next(_domains), "rings", "--speed", "0", "--per-drone-processes")
    with killed_if_left(proc):
        stopped = [wait_for(lambda label=label: started_pid(run, label), label, proc, limit=60)
                   for label in ("simulator", "cf2_drone", "recorder")]
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        out = finish(proc)
    assert proc.returncode == 0, out[-3000:]
    assert out.count("had not joined") == 3, out[-3000:]       # the swarm view and the other drones had
    for where, label in (("simulator (/swarm/simulator)", "00_simulator"), ("drone (/cf2/drone)", "02_cf2_drone"),
                         ("recorder (/swarm/recorder)", "07_recorder")):
        assert f"{where} had not joined 30 s after its start" in out, out[-3000:]
        assert (run / "logs" / f"{label}_restarted.log").is_file(), sorted(p.name for p in (run / "logs").iterdir())
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["lost"] == [] and s["collisions"] == 0 and len(s["drones"]) == len(rings_mission.fleet.names)
    assert s["data_lost"] == {}
    assert not any(alive(pid) for pid in stopped)


def test_start_up_names_the_peers_that_never_connected(tmp_path, ros_env):
    """A simulator whose drones and summary reader never come gives up after `startup_timeout` s
    without a new peer, and says which ones are missing."""
    from conftest import REPO
    out = subprocess.run([sys.executable, "-m", "swarm_ros.nodes.simulator", "--ros-args",
                          "-p", f"mission_file:={REPO / 'config' / 'missions' / 'rings.yaml'}",
                          "-p", "startup_timeout:=2.0", "-p", "summary_readers:=1"], env=ros_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr[-2000:]
    line = next(x for x in (out.stdout + out.stderr).splitlines() if "peers did not connect" in x)
    assert "none new for 2 s" in line and "/cf1/cmd publisher" in line and "/swarm/summary subscribers" in line


def alive(pid: int) -> bool:
    """Running, not gone and not a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_launcher_killed_outright_takes_its_processes_with_it(tmp_path):
    """SIGKILL gives the launcher no chance to clean up: its children still get SIGTERM (Linux
    PR_SET_PDEATHSIG, set between fork and exec while the launcher has other threads running)."""
    launcher = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, threading, time\n"
        "from swarm_ros.launching import _die_with_parent\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=_die_with_parent(), start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        child = int(launcher.stdout.readline())
        assert alive(child)
        launcher.kill()
        launcher.wait(5)
        deadline = time.monotonic() + 5
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the child outlived its killed launcher"
    finally:
        launcher.kill()
        launcher.stdout.close()
