"""ROS 2 over separate hosts (netns.py + dds_discovery.py): nodes on two hosts find each other
with simple discovery and with a Discovery Server, a link taken down cuts them off (no shared
memory around the network) and brought up lets them talk again."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import _domains
from swarm_ros import dds_discovery, netns

pytestmark = pytest.mark.skipif(netns.unavailable() is not None, reason=f"no network namespaces: {netns.unavailable()}")

TALKER = """
import rclpy
from std_msgs.msg import String
rclpy.init(); node = rclpy.create_node('talker'); pub = node.create_publisher(String, 'chat', 10)
i = 0
while rclpy.ok():
    pub.publish(String(data=f'm{i}')); i += 1; rclpy.spin_once(node, timeout_sec=0.05)
"""
LISTENER = """
import rclpy
from std_msgs.msg import String
rclpy.init(); node = rclpy.create_node('listener')
node.create_subscription(String, 'chat', lambda m: print(m.data, flush=True), 10)
while rclpy.ok(): rclpy.spin_once(node, timeout_sec=0.05)
"""


def _received(proc, seconds: float) -> int:
    """Messages the listener printed over the next `seconds`."""
    time.sleep(seconds)
    return (proc.stdout.read() or b"").count(b"\n")


def _until_received(proc, limit: float = 30.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        n = _received(proc, 0.5)
        if n:
            return n
    return 0


@pytest.mark.parametrize("discovery", ["simple", "server"])
def test_nodes_on_two_hosts_talk_and_a_link_down_cuts_them_off_until_up(discovery):
    base = dict(os.environ, ROS_DOMAIN_ID=str(next(_domains)))
    procs = []
    with netns.HostNetwork(3, tag=f"t{os.getpid()}{discovery[:3]}") as net:
        try:
            if discovery == "server":
                server = dds_discovery.start_server(net, 0, env=base)
                procs.append(server)
                env = dds_discovery.client_env(base, net.address(0))
            else:
                env = dds_discovery.simple_env(base)
            assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET" and env["FASTDDS_BUILTIN_TRANSPORTS"] == "UDPv4"
            procs.append(net.popen(1, [sys.executable, "-c", TALKER], env=env))
            listener = net.popen(2, [sys.executable, "-u", "-c", LISTENER], env=env, stdout=subprocess.PIPE)
            procs.append(listener)
            os.set_blocking(listener.stdout.fileno(), False)
            assert _until_received(listener) > 0
            sent = net.traffic(1)["tx_bytes"]
            assert sent > 0 and net.traffic(2)["rx_bytes"] > 0

            net.set_link(1, False)
            _received(listener, 0.5)                      # what was on its way
            assert _received(listener, 2.0) == 0
            net.set_link(1, True)
            assert _until_received(listener) > 0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    p.wait(10)
            if discovery == "server":
                dds_discovery.stop_server(server)


def test_discovery_environments_keep_the_choice_apart():
    base = {"ROS_DOMAIN_ID": "7", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_DISCOVERY_SERVER": "1.2.3.4:1"}
    simple = dds_discovery.simple_env(base)
    assert "ROS_DISCOVERY_SERVER" not in simple and simple["ROS_DOMAIN_ID"] == "7"
    client = dds_discovery.client_env(base, "10.1.0.1", 11900)
    assert client["ROS_DISCOVERY_SERVER"] == "10.1.0.1:11900" and "ROS_SUPER_CLIENT" not in client
    assert dds_discovery.client_env(base, "10.1.0.1", super_client=True)["ROS_SUPER_CLIENT"] == "TRUE"
    assert "<discoveryProtocol>SERVER</discoveryProtocol>" in dds_discovery.server_profile("10.1.0.1", 11900)
    assert "<port>11900</port>" in dds_discovery.server_profile("10.1.0.1", 11900)
