"""Separate hosts on one machine: Linux network namespaces joined by one bridge.

A drone that lives on its own host talks to the others through a network, not loopback; the
things a network does to a swarm (a link going down, a slow link, a host vanishing) only show
when each host has its own network stack. This module makes such hosts with `ip netns`, one
veth pair per host and one bridge, as root. The bridge sits in a "switch" namespace of its own,
so the machine's root namespace is never changed and no packet can leave the made namespaces.

Every namespace is named from the run's tag (``sr<tag>s`` for the switch, ``sr<tag>h<i>`` for
host i) and deleted by that name: on close(), at interpreter exit, on SIGTERM/SIGHUP, and by
remove_stale() when the run that made it died without cleaning up. Namespaces of other runs are
never touched. Stdlib only, no ROS.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

RECORDS = Path("/run/swarm_ros-netns")     # <tag> -> pid of the process that made it
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_OPEN: list["HostNetwork"] = []
_unavailable_cache: list[str | None] = []


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip() or r.returncode}")
    return r


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["ip", *args], check)


def _tc(ns: str, *args: str, check: bool = True) -> None:
    _run(["tc", "-n", ns, *args], check)


def _list_namespaces() -> list[str]:
    r = _ip("netns", "list", check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _pids_in(ns: str) -> list[int]:
    r = _ip("netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _kill_all_in(ns: str, timeout: float = 5.0) -> None:
    """SIGKILL every process in `ns` and wait until none is left (zombies leave it on their own)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in _pids_in(ns) if p != os.getpid()]
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _delete_namespace(ns: str) -> None:
    if ns in _list_namespaces():
        _kill_all_in(ns)
        _ip("netns", "delete", ns, check=False)


def unavailable() -> str | None:
    """Why separate hosts cannot be made here (a short reason), or None when they can."""
    if _unavailable_cache:
        return _unavailable_cache[0]
    reason = None
    if os.name != "posix" or not hasattr(os, "geteuid"):
        reason = "network namespaces need Linux"
    elif shutil.which("ip") is None:
        reason = "the `ip` command (iproute2) is not installed"
    elif os.geteuid() != 0:
        reason = "network namespaces need root (run as root)"
    else:
        probe = f"sr{os.getpid()}probe"
        r = _ip("netns", "add", probe, check=False)
        if r.returncode != 0:
            reason = f"`ip netns add` failed: {r.stderr.strip()}"
        else:
            r = _ip("-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1", check=False)
            if r.returncode != 0:
                reason = f"veth pairs cannot be made: {r.stderr.strip()}"
            _ip("netns", "delete", probe, check=False)
    _unavailable_cache.append(reason)
    return reason


def _subnet_octet(tag: str) -> int:
    """Second octet of the hosts' 10.x.0.0/16, from the tag: two runs side by side differ."""
    return 16 + zlib.crc32(tag.encode()) % 224


class HostNetwork:
    """`n_hosts` network namespaces on one bridge; host i is ``names[i]`` at ``address(i)``.

    Use as a context manager; close() kills what still runs inside and deletes every namespace
    and veth it made, and is safe to call twice.
    """

    def __init__(self, n_hosts: int, *, tag: str | None = None):
        if n_hosts < 1:
            raise ValueError(f"n_hosts must be at least 1, not {n_hosts}")
        self.tag = str(os.getpid()) if tag is None else tag
        if not _TAG.match(self.tag):
            raise ValueError(f"tag {self.tag!r}: letters, digits, '-' and '_' only, up to 40")
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.switch = f"sr{self.tag}s"
        self.names = [f"sr{self.tag}h{i}" for i in range(n_hosts)]
        self._k = _subnet_octet(self.tag)
        self._made: list[str] = []
        self._alive = [True] * n_hosts
        self._closed = False
        taken = set(_list_namespaces()) & {self.switch, *self.names}
        if taken:
            raise RuntimeError(f"namespace {sorted(taken)[0]} exists already (tag {self.tag} in use)")
        RECORDS.mkdir(parents=True, exist_ok=True)
        (RECORDS / self.tag).write_text(f"{os.getpid()}\n")
        _OPEN.append(self)
        _install_handlers()
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- construction ---------------------------------------------------------------------
    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def _build(self) -> None:
        sw = self.switch
        self._add_ns(sw)
        _ip("-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0",
            "mcast_snooping", "0", "forward_delay", "0")
        _ip("-n", sw, "link", "set", "br0", "up")
        for i, name in enumerate(self.names):
            self._add_ns(name)
            # the pair is made inside the switch namespace and one end moved straight to the
            # host: the root namespace never holds either end
            _ip("-n", sw, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("-n", sw, "link", "set", f"v{i}", "master", "br0", "up")
            _ip("-n", name, "addr", "add", f"{self.address(i)}/16", "dev", "eth0")
            self._link_up(i)

    def _link_up(self, i: int) -> None:
        name = self.names[i]
        _ip("-n", self.switch, "link", "set", f"v{i}", "up")
        _ip("-n", name, "link", "set", "eth0", "up")
        # DDS discovery multicasts: without this route a host without a default route cannot
        # send to 239.255.0.1; the route dies with the link, so it is laid again on every up
        _ip("-n", name, "route", "replace", "224.0.0.0/4", "dev", "eth0")

    # -- the contract ---------------------------------------------------------------------
    def address(self, i: int) -> str:
        self._index(i)
        return f"10.{self._k}.{i // 250}.{i % 250 + 1}"

    def command(self, i: int, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.names[self._index(i)], *argv]

    def popen(self, i: int, argv: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
        """Start `argv` on host i (``ip netns exec`` replaces itself with it: same pid)."""
        self._check_alive(i)
        return subprocess.Popen(self.command(i, argv), env=env, **kw)

    def set_link(self, i: int, up: bool) -> None:
        """Take host i's link down (both veth ends: nothing in or out) or bring it back up."""
        self._check_alive(i)
        if up:
            self._link_up(i)
        else:
            _ip("-n", self.names[i], "link", "set", "eth0", "down")
            _ip("-n", self.switch, "link", "set", f"v{i}", "down")

    def link_up(self, i: int) -> bool:
        """Whether host i's eth0 is administratively up."""
        self._check_alive(i)
        info = json.loads(_ip("-j", "-n", self.names[i], "link", "show", "dev", "eth0").stdout)
        return "UP" in info[0]["flags"]

    def rate_limit(self, i: int, kbit: int) -> None:
        """Cap host i's link at `kbit` kbit/s each way (an htb on both veth ends); 0 removes it."""
        self._check_alive(i)
        for ns, dev in ((self.names[i], "eth0"), (self.switch, f"v{i}")):
            if kbit <= 0:
                _tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
                continue
            _tc(ns, "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "10")
            _tc(ns, "class", "replace", "dev", dev, "parent", "1:", "classid", "1:10", "htb",
                "rate", f"{int(kbit)}kbit", "ceil", f"{int(kbit)}kbit")

    def traffic(self, i: int) -> dict[str, int]:
        """Byte and packet counters of host i's eth0 since it was made."""
        self._check_alive(i)
        info = json.loads(_ip("-j", "-s", "-n", self.names[i], "link", "show", "dev", "eth0").stdout)
        stats = info[0]["stats64"]
        return {"rx_bytes": stats["rx"]["bytes"], "tx_bytes": stats["tx"]["bytes"],
                "rx_packets": stats["rx"]["packets"], "tx_packets": stats["tx"]["packets"]}

    def alive(self, i: int) -> bool:
        return self._alive[self._index(i)]

    def kill_host(self, i: int) -> None:
        """The host is gone: SIGKILL every process in its namespace, delete it and its veth."""
        self._check_alive(i)
        self._alive[i] = False
        _kill_all_in(self.names[i])
        _ip("-n", self.switch, "link", "del", f"v{i}", check=False)
        _ip("netns", "delete", self.names[i], check=False)
        if self.names[i] in self._made:
            self._made.remove(self.names[i])

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for name in reversed(self._made):       # hosts first, the switch (and its bridge) last
            _delete_namespace(name)
        self._made.clear()
        self._alive = [False] * len(self.names)
        try:
            (RECORDS / self.tag).unlink()
        except OSError:
            pass
        if self in _OPEN:
            _OPEN.remove(self)

    def __enter__(self) -> "HostNetwork":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- helpers --------------------------------------------------------------------------
    def _index(self, i: int) -> int:
        if not 0 <= i < len(self.names):
            raise IndexError(f"host {i}: this network has hosts 0..{len(self.names) - 1}")
        return i

    def _check_alive(self, i: int) -> None:
        if not self._alive[self._index(i)]:
            raise RuntimeError(f"host {i} ({self.names[i]}) is gone (killed or closed)")


def _close_all() -> None:
    for net in list(_OPEN):
        net.close()


_handlers_installed = False


def _install_handlers() -> None:
    """Close every open network at exit and on SIGTERM/SIGHUP, where nobody else handles them."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_close_all)

    def on_signal(signum, frame):
        _close_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, on_signal)
        except ValueError:      # not the main thread: atexit still covers a normal exit
            pass


def _owner_pid(tag: str) -> int | None:
    try:
        return int((RECORDS / tag).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return int(tag) if tag.isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(prefix: str = "sr") -> list[str]:
    """Delete the namespaces (``<prefix><tag>s`` / ``<prefix><tag>h<i>``) whose making process is
    dead, killing anything left inside; return their names. Live runs' namespaces stay."""
    pattern = re.compile(rf"^{re.escape(prefix)}([A-Za-z0-9_-]+?)(?:s|h\d+)$")
    removed, dead_tags = [], set()
    names = _list_namespaces()
    for name in sorted(names, key=lambda n: n.endswith("s")):     # hosts before switches
        m = pattern.match(name)
        if not m:
            continue
        pid = _owner_pid(m.group(1))
        if pid is None or _pid_alive(pid):
            continue
        _delete_namespace(name)
        removed.append(name)
        dead_tags.add(m.group(1))
    for tag in dead_tags:
        try:
            (RECORDS / tag).unlink()
        except OSError:
            pass
    return removed
