"""The plan of a run on hosts, without making any (hosts.py): where each process goes, which
discovery environment it gets, and when each host fault is applied."""
from __future__ import annotations

import pytest

from swarm_ros.hosts import HostRun, parse_fault
from swarm_ros.launching import NodeSpec


def test_faults_parse_and_bad_ones_name_the_option_and_what_is_allowed():
    f = parse_fault("--link-down", "2:8-14.5", 4, 38)
    assert (f.kind, f.host, f.t, f.until) == ("link", 2, 8.0, 14.5)
    k = parse_fault("--kill-host", "3:10", 4, 38)
    assert (k.kind, k.host, k.t, k.until) == ("kill", 3, 10.0, None)
    for option, text, says in (("--link-down", "2:14-8", "START < END"), ("--link-down", "4:1-2", "1-3"),
                               ("--kill-host", "0:5", "host 0 is the ground"), ("--kill-host", "1:40", "0-38 s"),
                               ("--kill-host", "x", "HOST:TIME"), ("--link-down", "1:5", "HOST:START-END")):
        with pytest.raises(ValueError, match=says) as err:
            parse_fault(option, text, 4, 38)
        assert str(err.value).startswith(f"{option} {text}:") and "\n" not in str(err.value)


def test_each_fault_step_is_due_once_in_mission_time_order():
    run = HostRun(4, "simple", [parse_fault("--link-down", "2:8-14", 4, 38), parse_fault("--kill-host", "3:10", 4, 38)])
    assert run.due(7.9) == []
    assert [(f.host, s) for f, s in run.due(8.0)] == [(2, "down")]
    assert run.due(9.0) == []
    assert [(f.host, s) for f, s in run.due(20.0)] == [(2, "up"), (3, "kill")]
    assert run.due(30.0) == []
    # a status that jumps past a whole window applies down and up in order
    jump = HostRun(3, "simple", [parse_fault("--link-down", "1:5-6", 3, 38)])
    assert [s for _, s in jump.due(7.0)] == ["down", "up"]


def test_ground_processes_stay_on_host_0_and_drones_are_dealt_round_robin():
    run = HostRun(3, "server")
    sim = NodeSpec("simulator", "simulator", "/swarm")
    assert run.host_of(sim, 0) == 0
    assert [run.host_of(NodeSpec("drone", "drone", f"/cf{k}"), k) for k in range(5)] == [1, 2, 1, 2, 1]
    with pytest.raises(ValueError, match="at least 2"):
        HostRun(1)
    with pytest.raises(ValueError, match="simple, server"):
        HostRun(2, "mdns")
