"""Shared fixtures. ROS tests get their own ROS_DOMAIN_ID and loopback-only discovery."""
from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))   # scenario generator shared with the benchmarks

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"   # nothing in the suite leaves loopback



def _domain_block() -> range:
    """Ten domains for this run, one per test that needs ROS. `ROS_DOMAIN_ID=B` in the
    environment gives B .. B+9 (so parallel runs on one machine stay apart); otherwise a block
    of 20-59 chosen by pid. Benchmarks use 90-99."""
    given = os.environ.get("ROS_DOMAIN_ID", "").strip()
    if given:
        base = int(given)
        if not 0 <= base <= 222:
            raise pytest.UsageError(f"ROS_DOMAIN_ID={given}: the suite needs ten domains from it, so 0-222")
        return range(base, base + 10)
    base = 20 + (os.getpid() % 4) * 10
    return range(base, base + 10)


_domains = itertools.cycle(_domain_block())


@pytest.fixture
def ros_domain() -> int:
    return next(_domains)


@pytest.fixture
def ros_context(ros_domain):
    """An rclpy context in the test's own domain with one observer node and its executor."""
    import rclpy
    from rclpy.experimental import EventsExecutor
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain)
    node = rclpy.create_node("test_observer", context=context, enable_rosout=False, start_parameter_services=False)
    executor = EventsExecutor(context=context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)


@pytest.fixture
def ros_env(ros_domain) -> dict:
    """Environment for child processes of a ROS test."""
    return dict(os.environ, ROS_DOMAIN_ID=str(ros_domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                PYTHONUNBUFFERED="1")


@pytest.fixture(scope="session")
def rings_mission():
    from swarm_ros.mission import load_mission
    return load_mission(REPO / "config" / "missions" / "rings.yaml")
