"""Separate hosts on one machine (swarm_ros.netns): namespaces, the bridge, faults, clean-up.

Needs root and iproute2; skipped with the reason elsewhere. Every network here has its own tag
(so a failing test cannot collide with another run) and is checked gone afterwards.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from swarm_ros import netns

pytestmark = pytest.mark.skipif(netns.unavailable() is not None, reason=f"no network namespaces: {netns.unavailable()}")

RECEIVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
print("ready", flush=True)
try:
    data, addr = s.recvfrom(100)
    print(data.decode(), addr[0], flush=True)
except socket.timeout:
    print("timeout", flush=True)
"""
SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[3])):
    try:
        s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
    except OSError as err:
        print("error", err.errno, flush=True)
    time.sleep(0.05)
"""


def _tag(name: str) -> str:
    return f"t{os.getpid()}{name}"


def _namespaces() -> set[str]:
    return set(netns._list_namespaces())


def _wait_inside(net, i: int, proc, limit: float = 10.0) -> None:
    """Until `proc` has entered host i's namespace (`ip netns exec` takes a moment)."""
    deadline = time.monotonic() + limit
    while proc.pid not in netns._pids_in(net.names[i]):
        assert time.monotonic() < deadline, "the process never entered the namespace"
        time.sleep(0.02)


def _send(net, src: int, dst: int, port: int, timeout: float = 2.0, tries: int = 10) -> str:
    """What host `dst` received from host `src` over UDP ("hello <src address>" or "timeout")."""
    rx = net.popen(dst, [sys.executable, "-c", RECEIVER, str(port), str(timeout)], stdout=subprocess.PIPE, text=True)
    assert rx.stdout.readline().strip() == "ready"
    subprocess.run(net.command(src, [sys.executable, "-c", SENDER, net.address(dst), str(port), str(tries)]),
                   capture_output=True, timeout=30)
    out, _ = rx.communicate(timeout=timeout + 10)
    return out.strip()


def test_hosts_get_their_own_stack_and_addresses_and_all_goes_on_close():
    with netns.HostNetwork(3, tag=_tag("a")) as net:
        assert net.names == [f"sr{_tag('a')}h{i}" for i in range(3)]
        assert set(net.names) | {net.switch} <= _namespaces()
        assert len({net.address(i) for i in range(3)}) == 3
        out = subprocess.run(net.command(1, ["ip", "-o", "-4", "addr"]), capture_output=True, text=True).stdout
        assert f"{net.address(1)}/16" in out and "127.0.0.1" in out
        assert net.address(0) not in out
        # the bridge and every host's other end live in the switch namespace, not the machine's
        ports = subprocess.run(["ip", "-n", net.switch, "-o", "link", "show", "master", "br0"],
                               capture_output=True, text=True).stdout
        assert [line.split(": ")[1].split("@")[0] for line in ports.splitlines()] == ["v0", "v1", "v2"]
        with pytest.raises(IndexError):
            net.address(3)
    assert not ({net.switch, *net.names} & _namespaces())
    net.close()     # a second close does nothing


def test_two_hosts_talk_over_the_bridge_and_a_link_down_cuts_them_off_until_up():
    with netns.HostNetwork(2, tag=_tag("b")) as net:
        before = net.traffic(1)
        assert _send(net, 0, 1, 47001) == f"hello {net.address(0)}"
        after = net.traffic(1)
        assert after["rx_packets"] > before["rx_packets"] and after["rx_bytes"] > before["rx_bytes"]
        assert net.traffic(0)["tx_packets"] > 0

        net.set_link(1, False)
        assert not net.link_up(1)
        assert _send(net, 0, 1, 47002, timeout=1.5, tries=5) == "timeout"
        net.set_link(1, True)
        assert net.link_up(1)
        assert _send(net, 0, 1, 47003) == f"hello {net.address(0)}"


def test_a_host_cannot_reach_the_machines_own_network():
    with netns.HostNetwork(1, tag=_tag("c")) as net:
        probe = ("import socket\ns = socket.socket()\ns.settimeout(2)\n"
                 "try:\n    s.connect(('8.8.8.8', 53)); print('connected')\n"
                 "except OSError as err: print('refused', err.errno)\n")
        out = subprocess.run(net.command(0, [sys.executable, "-c", probe]), capture_output=True, text=True).stdout
        assert out.startswith("refused")


def test_rate_limit_puts_an_htb_on_both_ends_and_zero_removes_it():
    with netns.HostNetwork(2, tag=_tag("d")) as net:
        net.rate_limit(1, 800)
        for ns, dev in ((net.names[1], "eth0"), (net.switch, "v1")):
            shown = subprocess.run(["tc", "-n", ns, "class", "show", "dev", dev], capture_output=True, text=True).stdout
            assert "htb" in shown and "800Kbit" in shown
        assert _send(net, 0, 1, 47004) == f"hello {net.address(0)}"     # slow, not cut
        net.rate_limit(1, 0)
        shown = subprocess.run(["tc", "-n", net.names[1], "qdisc", "show", "dev", "eth0"], capture_output=True, text=True).stdout
        assert "htb" not in shown


def test_kill_host_ends_its_processes_and_removes_its_namespace_and_veth():
    with netns.HostNetwork(3, tag=_tag("e")) as net:
        sleeper = net.popen(2, ["sleep", "60"])
        _wait_inside(net, 2, sleeper)
        net.kill_host(2)
        assert sleeper.wait(5) == -signal.SIGKILL
        assert net.names[2] not in _namespaces() and not net.alive(2)
        links = subprocess.run(["ip", "-n", net.switch, "-o", "link"], capture_output=True, text=True).stdout
        assert "v2@" not in links and "v1@" in links
        with pytest.raises(RuntimeError, match="gone"):
            net.popen(2, ["true"])
        assert _send(net, 0, 1, 47005) == f"hello {net.address(0)}"     # the others go on
    assert not ({net.switch, *net.names} & _namespaces())


def test_close_kills_what_still_runs_inside():
    net = netns.HostNetwork(1, tag=_tag("f"))
    sleeper = net.popen(0, ["sleep", "60"])
    _wait_inside(net, 0, sleeper)
    net.close()
    assert sleeper.wait(5) == -signal.SIGKILL
    assert not ({net.switch, *net.names} & _namespaces())


def test_a_tag_in_use_or_malformed_is_refused_and_nothing_is_left():
    with netns.HostNetwork(1, tag=_tag("g")) as net:
        with pytest.raises(RuntimeError, match="exists already"):
            netns.HostNetwork(1, tag=_tag("g"))
        assert net.names[0] in _namespaces()          # the refused one did not delete it
    with pytest.raises(ValueError, match="tag"):
        netns.HostNetwork(1, tag="a b/../c")
    with pytest.raises(ValueError):
        netns.HostNetwork(0, tag=_tag("h"))


def _maker(tag: str) -> subprocess.Popen:
    """Another process that makes a two-host network with `tag`, says 'made' and sleeps."""
    return subprocess.Popen([sys.executable, "-c", f"import sys, time\nsys.path.insert(0, {str(netns.__file__.rsplit('/', 2)[0])!r})\n"
                             f"from swarm_ros import netns\nnet = netns.HostNetwork(2, tag={tag!r})\nprint('made', flush=True)\ntime.sleep(60)"],
                            stdout=subprocess.PIPE, text=True)


def test_remove_stale_deletes_a_dead_runs_namespaces_and_keeps_live_ones():
    # a run that dies without closing: a child process makes a network and is SIGKILLed
    tag = _tag("dead")
    maker = _maker(tag)
    try:
        assert maker.stdout.readline().strip() == "made"
        with netns.HostNetwork(1, tag=_tag("live")) as live:
            assert not set(netns.remove_stale()) & {live.switch, *live.names}
            assert f"sr{tag}h0" in _namespaces()       # its maker still lives
            maker.kill()
            maker.wait(5)
            removed = netns.remove_stale()
            assert sorted(removed) == sorted([f"sr{tag}h0", f"sr{tag}h1", f"sr{tag}s"])
            assert not (set(removed) & _namespaces())
            assert live.names[0] in _namespaces()
    finally:
        if maker.poll() is None:
            maker.kill()
            maker.wait()
        netns.remove_stale()


def test_sigterm_to_the_maker_deletes_its_namespaces():
    tag = _tag("term")
    maker = _maker(tag)
    try:
        assert maker.stdout.readline().strip() == "made"
        assert f"sr{tag}s" in _namespaces()
        maker.send_signal(signal.SIGTERM)
        assert maker.wait(10) == -signal.SIGTERM
        assert not {f"sr{tag}s", f"sr{tag}h0", f"sr{tag}h1"} & _namespaces()
    finally:
        if maker.poll() is None:
            maker.kill()
            maker.wait()
        netns.remove_stale()


def test_unavailable_names_the_reason_for_a_non_root_user():
    if not hasattr(os, "setuid"):
        pytest.skip("no setuid")
    # imported as root (the interpreter may live where nobody else can read), then asked as nobody
    probe = ("import os, sys\nsys.path.insert(0, sys.argv[1])\nfrom swarm_ros import netns\n"
             "os.setuid(65534)\nprint(netns.unavailable())")
    out = subprocess.run([sys.executable, "-c", probe, str(netns.__file__.rsplit("/", 2)[0])],
                         capture_output=True, text=True, timeout=30)
    assert "root" in out.stdout, out.stderr
