"""A run on separate hosts: which process runs on which host, how they discover each other,
and the host faults (a link down and up, a host killed) at given mission times.

Host 0 is the ground host: the simulator, the recorder, the swarm view, the mission services,
the Discovery Server and the launcher's own monitor node. The drone processes (one per drone)
are dealt round-robin over hosts 1..N-1. The runner (runner.py) starts every process through
`wrap`, so a run on hosts is the same run as on one machine, over a network instead of loopback.
ROS-free: the faults and the placement are tested without DDS.
"""
from __future__ import annotations

import ctypes
import os
import re
from dataclasses import dataclass, field

from . import dds_discovery, netns

DISCOVERY = ("simple", "server")
GROUND = 0
WHOLE_GRAPH = {"simulator", "recorder", "swarm_view"}   # super-clients of a Discovery Server
CLONE_NEWNET = 0x40000000


@dataclass
class HostFault:
    kind: str            # "link" (down at t, up at until) or "kill" (at t)
    host: int
    t: float
    until: float | None = None
    done: list = field(default_factory=list)     # what has been applied: "down", "up", "kill"

    def text(self) -> str:
        return (f"host {self.host} link down {self.t:g}-{self.until:g} s" if self.kind == "link"
                else f"host {self.host} killed at {self.t:g} s")


_LINK = re.compile(r"^(\d+):(\d+(?:\.\d*)?)-(\d+(?:\.\d*)?)$")
_KILL = re.compile(r"^(\d+):(\d+(?:\.\d*)?)$")


def parse_fault(option: str, text: str, n_hosts: int, duration: float) -> HostFault:
    """`--link-down H:T0-T1` or `--kill-host H:T` (mission seconds); ValueError with one line."""
    m = (_LINK if option == "--link-down" else _KILL).match(text.strip())
    form = "HOST:START-END" if option == "--link-down" else "HOST:TIME"
    if not m:
        raise ValueError(f"{option} {text}: expected {form} (mission seconds), e.g. "
                         + ("2:8-14" if option == "--link-down" else "2:10"))
    host, t = int(m.group(1)), float(m.group(2))
    until = float(m.group(3)) if option == "--link-down" else None
    if not 1 <= host < n_hosts:
        raise ValueError(f"{option} {text}: host {host} is not a drone host; with --hosts {n_hosts} "
                         f"they are 1-{n_hosts - 1} (host 0 is the ground)")
    if not 0 <= t < duration or (until is not None and not t < until <= duration):
        raise ValueError(f"{option} {text}: times must lie within the mission's 0-{duration:g} s"
                         + (" with START < END" if until is not None else ""))
    return HostFault("link" if until is not None else "kill", host, t, until)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


class HostRun:
    """The hosts of one run. start() makes the network (and the server), close() removes it all."""

    def __init__(self, n_hosts: int, discovery: str = "simple", faults: list[HostFault] | None = None,
                 port: int = dds_discovery.PORT):
        if n_hosts < 2:
            raise ValueError(f"--hosts {n_hosts}: needs at least 2 (a ground host and a drone host)")
        if discovery not in DISCOVERY:
            raise ValueError(f"discovery {discovery!r}: one of {', '.join(DISCOVERY)}")
        self.n, self.discovery, self.faults, self.port = n_hosts, discovery, list(faults or []), port
        self.net: netns.HostNetwork | None = None
        self.server = None
        self.where: dict[str, int] = {}      # drone process (its namespace) -> host
        self._home: int | None = None        # fd of the launcher's own network namespace
        self.log: list[dict] = []            # faults as applied: what, host, t

    def start(self, base_env: dict, log_dir=None) -> None:
        netns.remove_stale()
        self.net = netns.HostNetwork(self.n)
        self.base_env = dict(base_env)
        if self.discovery == "server":
            log = None
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                log = log_dir / "discovery_server.log"
            self.server = dds_discovery.start_server(self.net, GROUND, self.port, env=self.base_env, log=log)

    def env_for(self, base_env: dict, whole_graph: bool) -> dict:
        if self.discovery == "server":
            return dds_discovery.client_env(base_env, self.net.address(GROUND), self.port, super_client=whole_graph)
        return dds_discovery.simple_env(base_env)

    def host_of(self, spec, drone_index: int) -> int:
        if spec.executable == "drone":
            return 1 + drone_index % (self.n - 1)
        return GROUND

    def wrap(self, spec, cmd: list[str], env: dict, drone_index: int) -> tuple[list[str], dict, int]:
        """The command line and environment that start `spec` on its host, and the host."""
        host = self.host_of(spec, drone_index)
        if spec.executable == "drone":
            self.where[(spec.namespace or "/drones").strip("/")] = host
        whole = spec.executable in WHOLE_GRAPH or spec.namespace == "/swarm"
        return self.net.command(host, cmd), self.env_for(env, whole), host

    def enter_ground(self) -> dict:
        """Move the calling thread (the launcher's monitor, before its DDS starts) to the ground
        host; the environment its participant must see is returned for os.environ."""
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.net.names[GROUND]}", os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)
        return self.env_for({}, whole_graph=True)

    def leave_ground(self) -> None:
        if self._home is not None:
            try:
                _setns(self._home)
            finally:
                os.close(self._home)
                self._home = None

    def due(self, t: float) -> list[tuple[HostFault, str]]:
        """The fault steps due at mission time t and not applied yet (marked applied)."""
        steps = []
        for f in self.faults:
            if f.kind == "kill" and t >= f.t and "kill" not in f.done:
                steps.append((f, "kill"))
            elif f.kind == "link":
                if t >= f.t and "down" not in f.done:
                    steps.append((f, "down"))
                if t >= f.until and "up" not in f.done:
                    steps.append((f, "up"))
        for f, step in steps:
            f.done.append(step)
        return steps

    def apply(self, t: float) -> list[str]:
        """Apply what is due at mission time t; a line for the console for each step."""
        lines = []
        for f, step in self.due(t):
            if not self.net.alive(f.host):
                continue
            if step == "kill":
                self.net.kill_host(f.host)
            else:
                self.net.set_link(f.host, step == "up")
            self.log.append({"host": f.host, "event": {"down": "link down", "up": "link up"}.get(step, "killed"),
                             "t": round(float(t), 3)})
            lines.append(f"host {f.host} ({self.net.address(f.host)}): {self.log[-1]['event']} at t={t:.1f} s")
        return lines

    def summary(self) -> dict:
        traffic = {}
        for i in range(self.n):
            if self.net is not None and self.net.alive(i):
                traffic[str(i)] = self.net.traffic(i)
        return {"n": self.n, "discovery": self.discovery, "faults": self.log, "traffic": traffic,
                "drone_hosts": dict(self.where)}

    def close(self) -> None:
        self.leave_ground()
        if self.server is not None:
            dds_discovery.stop_server(self.server)
            self.server = None
        if self.net is not None:
            self.net.close()
