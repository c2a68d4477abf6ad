"""A Fast DDS Discovery Server as a ROS process: a participant with no topics of its own.

The process is started with a Fast DDS profile (FASTDDS_DEFAULT_PROFILES_FILE) whose default
participant is a SERVER (dds_discovery.server_profile); the node only makes that participant
exist, and the server relays discovery for as long as it lives.
"""
from __future__ import annotations

from swarm_ros.nodes.runtime import Process


def main(argv=None) -> int:
    with Process(argv) as proc:
        node = proc.node("discovery_server", "/swarm", light=True)
        node.get_logger().info("discovery server up")
        return proc.spin([node])


if __name__ == "__main__":
    raise SystemExit(main())
