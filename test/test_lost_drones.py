"""ROS-free rules of faults: when a drone is lost, what its failsafe flies, how a run's verdict
names what was lost, and which shared-memory files a run may remove."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from swarm_ros import shm
from swarm_ros.nodes.lost_drones import FAILSAFE_HOVER, LostDrones
from swarm_ros.report import verdict


def test_a_drone_silent_for_lost_after_ticks_is_lost_once_and_rejoins():
    lost = LostDrones(["cf1", "cf2", "cf3"], lost_after=3)
    silent = np.array([False, True, False])
    assert lost.stepped(silent, 1.0) == [] and lost.stepped(silent, 1.02) == []
    (entry,) = lost.stepped(silent, 1.04)
    assert entry["name"] == "cf2" and entry["t"] == 1.04 and not lost.lost[[0, 2]].any()
    assert lost.stepped(silent, 1.06) == []                       # declared once
    assert lost.rejoin(1, 5.0)["rejoined"] == 5.0 and not lost.lost.any()
    assert lost.record == [{"name": "cf2", "t": 1.04, "reason": "no command for 3 ticks", "rejoined": 5.0}]


def test_an_answer_between_silent_ticks_restarts_the_count():
    lost = LostDrones(["a"], lost_after=2)
    lost.stepped(np.array([True]), 0.0)
    lost.stepped(np.array([False]), 0.1)
    assert lost.stepped(np.array([True]), 0.2) == [] and not lost.lost[0]


def test_the_failsafe_hovers_then_lands_and_others_keep_their_commands():
    lost = LostDrones(["a", "b", "c"])
    lost.declare(0, 10.0, "test")
    cmd = np.array([[1.0, 1.0, 1.0], [0.5, 0.0, 0.2], [0.3, 0.3, 0.3]])
    position = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 1.0], [2.0, 0.0, 1.0]])
    hover = np.array([False, False, True])
    early = lost.commands(cmd, hover, position, 10.0 + FAILSAFE_HOVER / 2)
    assert (early[0] == 0).all() and (early[1] == cmd[1]).all() and (early[2] == 0).all()
    late = lost.commands(cmd, hover, position, 10.0 + FAILSAFE_HOVER)
    assert late[0, 2] < 0 and (late[0, :2] == 0).all()
    on_ground = lost.commands(cmd, hover, np.zeros((3, 3)), 20.0)
    assert (on_ground[0] == 0).all()


def base_summary(**extra) -> dict:
    return {"collisions": 0, "geofence_violations": 0, "ticks": 100, "late_ticks": 0,
            "drones": [{"name": "cf1"}], **extra}


def test_the_verdict_names_lost_drones_and_lost_data():
    assert verdict(base_summary()) == ("mission OK", True)
    said, ok = verdict(base_summary(lost=[{"name": "cf2", "t": 12.31, "reason": "x", "rejoined": None}]))
    assert not ok and said == "MISSION FAILED: drone cf2 lost at t=12.3 s"
    said, ok = verdict(base_summary(data_lost={"/cf1/odom": 311}))
    assert not ok and said == "MISSION FAILED: data lost: 311 /cf1/odom messages"
    said, ok = verdict(base_summary(lost=[{"name": "cf2", "t": 1.0, "reason": "x", "rejoined": 4.0}],
                                    data_lost={"/cf1/odom": 0}))
    assert not ok and said == "MISSION FAILED: drone cf2 lost at t=1.0 s (back at t=4.0 s)"


def test_shared_memory_files_in_use_are_never_removed(tmp_path):
    """A file a live process holds open stays; the same name unused is removed."""
    name = f"fastdds_test_{os.getpid()}_{time.monotonic_ns()}"
    path = shm.SHM / name
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(path)!r}, 'w'); import time; time.sleep(60)"])
    try:
        for _ in range(100):
            if name in shm.files_of(holder.pid):
                break
            time.sleep(0.05)
        assert name in shm.files_of(holder.pid)
        assert name not in shm.remove_unused({name}) and path.exists()
    finally:
        holder.kill()
        holder.wait()
    assert shm.remove_unused({name}) == [name] and not path.exists()


def test_a_domains_own_ports_are_told_from_the_ports_every_domain_shares():
    """Domain 170's ports are 49900-50149 (7400 + 250 d); 7000-range ports and other domains' are not its own."""
    assert not any(shm.shared_by_domains(n, 170) for n in ("fastdds_port49911", "sem.fastdds_port50149_mutex",
                                                           "fastdds_port49900_el", "fastdds_0a1b2c3d4e5f6789"))
    assert all(shm.shared_by_domains(n, 170) for n in ("fastdds_port7008", "sem.fastdds_port7000_mutex",
                                                       "fastdds_port50150", "fastdds_port49899_sl"))


def test_launch_takes_a_domain_id_or_auto_and_a_positive_lost_after(capsys):
    import pytest
    from swarm_ros.cli import build_parser
    parser = build_parser()
    args = parser.parse_args(["launch", "rings", "--domain-id", "auto", "--lost-after", "3"])
    assert args.domain_id == "auto" and args.lost_after == 3
    assert parser.parse_args(["launch", "rings", "--domain-id", "7"]).domain_id == 7
    for bad in (["--domain-id", "300"], ["--domain-id", "any"], ["--lost-after", "0"]):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["launch", "rings", *bad])
        assert exit_.value.code == 2
    assert "is not" in capsys.readouterr().err


def test_port_files_every_domain_shares_are_left_to_the_runs_of_other_domains():
    """A run removes its own domain's port files once unused, never those all domains share: a
    starting process of another run may be opening one right then."""
    own, shared = "fastdds_port8651", "fastdds_port7399"      # domain 5 owns 8650-8899; 7399 is no domain's
    made = []
    try:
        for name in (own, shared):
            if not (shm.SHM / name).exists():
                (shm.SHM / name).write_bytes(b"")
                made.append(name)
        assert shm.shared_by_domains(shared, 5) and not shm.shared_by_domains(own, 5)
        removed = shm.remove_unused({own, shared}, domain=5)
        assert own in removed and shared not in removed and (shm.SHM / shared).exists()
    finally:
        for name in made:
            (shm.SHM / name).unlink(missing_ok=True)
