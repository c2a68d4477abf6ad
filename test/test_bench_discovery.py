"""The discovery benchmark's measuring function (bench/bench_discovery.py) on separate hosts:
with either discovery every drone and the ground find each other, the links count the traffic,
a point that runs out of time is reported, and no namespace of the run is left behind.

Needs root and iproute2 (network namespaces); skipped with the reason elsewhere.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from swarm_ros import netns

pytestmark = pytest.mark.skipif(netns.unavailable() is not None, reason=f"no network namespaces: {netns.unavailable()}")

import bench_discovery  # noqa: E402  (bench/ is on the path: conftest.py)


def namespaces_of_this_run() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"srd{os.getpid()}x")]


@pytest.mark.parametrize("mode", ["simple", "server"])
def test_both_discoveries_match_every_drone_with_the_ground_and_count_the_bytes(mode, ros_domain):
    r = bench_discovery.measure(3, mode, timeout=90, domain_id=ros_domain)
    assert r["discovered"], r
    assert (r["drones_heard"], r["ground_heard"]) == (3, 3)
    assert r["processes"] == (5 if mode == "server" else 4)     # the server is a process of its own
    assert r["tx_bytes"] > 0 and r["rx_bytes"] > 0 and r["tx_packets"] > 0
    assert r["discovery_s"] >= r["nodes_up_s"] > 0
    assert namespaces_of_this_run() == []


def test_a_point_out_of_time_is_reported_not_raised(ros_domain):
    r = bench_discovery.measure(2, "simple", timeout=0.001, domain_id=ros_domain)
    assert not r["discovered"] and r["discovery_s"] is None
    row = bench_discovery.rows_of([r])[0]
    assert row[-1].startswith("did not discover (") and row[5] == "-"
    assert namespaces_of_this_run() == []
