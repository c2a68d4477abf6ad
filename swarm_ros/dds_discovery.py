"""How processes on separate hosts (netns.py) find each other over Fast DDS: the choice of
discovery, as the environment a process starts with.

Simple discovery: every participant multicasts its announcements on the subnet, which inside
namespaces a run made is its own bridge; so there, and only there, the discovery range is
SUBNET instead of the project's LOCALHOST. Discovery Server: one participant on one host is the
server and every other one a client that announces itself to that address alone (no multicast);
a client sees only the endpoints it matches, so a process that must see the whole graph (the
recorder, `ros2` tools) is a super-client. The server is an ordinary rclpy process whose Fast DDS
profile says SERVER, as these machines have the Fast DDS library but not its `fastdds` tool.

Across hosts the shared-memory transport is switched off (UDP only): processes in different
namespaces still share /dev/shm, and a link taken down must actually cut them off.
Stdlib only, no ROS.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

PORT = 11811
UDP_ONLY = {"FASTDDS_BUILTIN_TRANSPORTS": "UDPv4"}
# the GUID prefix a client derives for server 0 of ROS_DISCOVERY_SERVER
SERVER_PREFIX = "44.53.00.5f.45.50.52.4f.53.49.4d.41"
_DROP = ("ROS_DISCOVERY_SERVER", "ROS_SUPER_CLIENT", "FASTDDS_DEFAULT_PROFILES_FILE",
         "FASTRTPS_DEFAULT_PROFILES_FILE", "ROS_LOCALHOST_ONLY", "ROS_STATIC_PEERS")


def _base(base_env: dict) -> dict:
    from .launching import DDS_PROFILE       # our own profile (type propagation off) comes back
    env = {k: v for k, v in base_env.items() if k not in _DROP}
    env.update(UDP_ONLY, PYTHONUNBUFFERED="1", FASTDDS_DEFAULT_PROFILES_FILE=str(DDS_PROFILE))
    return env


def simple_env(base_env: dict) -> dict:
    """Simple (multicast) discovery on the made bridge: for processes inside made namespaces only."""
    return {**_base(base_env), "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}


def client_env(base_env: dict, server_address: str, port: int = PORT, super_client: bool = False) -> dict:
    """A Discovery Server client of `server_address`:`port`; `super_client` for processes that
    must discover every endpoint (the recorder, the simulator, `ros2` tools)."""
    env = {**_base(base_env), "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
           "ROS_DISCOVERY_SERVER": f"{server_address}:{int(port)}"}
    if super_client:
        env["ROS_SUPER_CLIENT"] = "TRUE"
    return env


def server_profile(address: str, port: int = PORT) -> str:
    """A Fast DDS XML profile that makes a process's participants Discovery Servers on address:port."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <participant profile_name="swarm_ros_discovery_server" is_default_profile="true">
      <rtps>
        <prefix>{SERVER_PREFIX}</prefix>
        <builtin>
          <discovery_config>
            <discoveryProtocol>SERVER</discoveryProtocol>
          </discovery_config>
          <metatrafficUnicastLocatorList>
            <locator><udpv4><address>{address}</address><port>{int(port)}</port></udpv4></locator>
          </metatrafficUnicastLocatorList>
        </builtin>
        <propertiesPolicy>
          <properties>
            <property><name>fastdds.type_propagation</name><value>disabled</value></property>
          </properties>
        </propertiesPolicy>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def start_server(net, host: int, port: int = PORT, env: dict | None = None,
                 log: Path | str | None = None) -> subprocess.Popen:
    """Start a Discovery Server on `host` of `net` (a netns.HostNetwork), listening on its address.

    Its profile is written to a temporary file that is removed when the server's Popen is
    collected; stop it with SIGINT/SIGTERM like any node."""
    address = net.address(host)
    fd, name = tempfile.mkstemp(prefix="swarm_ros_ds_", suffix=".xml")
    with os.fdopen(fd, "w") as f:
        f.write(server_profile(address, port))
    server_env = {**simple_env(os.environ if env is None else env), "FASTDDS_DEFAULT_PROFILES_FILE": name}
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    try:
        proc = net.popen(host, [sys.executable, "-m", "swarm_ros.nodes.discovery_server"],
                         env=server_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        if log is not None:
            out.close()
    proc.profile_file = name
    return proc


def stop_server(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """Stop a server from start_server and remove its profile file; its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:
        os.unlink(getattr(proc, "profile_file", ""))
    except OSError:
        pass
    return proc.returncode
