"""DDS discovery across separate hosts: Fast DDS simple discovery against a Discovery Server.

    python bench/bench_discovery.py                        # N = 10, 25, 50, 100 x both, + 1 Mbit/s at N = 25 (~25 min)
    python bench/bench_discovery.py --sizes 10 --no-htb    # a quick check (~1 min)

Each drone gets a host of its own (a network namespace on one bridge, swarm_ros/netns.py) and
the ground one more. On each drone host runs a probe with the drone's side of a mission's
graph (node `drone` in /<drone>, publishes /<drone>/cmd, reads /<drone>/odom, real message
types and topic names); on the ground a probe with the simulator's side (every odom out, every
cmd in); see bench/discovery_probe.py. The peer: simple discovery (SPDP multicast on the
bridge, every participant meets every other) against a Discovery Server on the ground host
(every participant a client that meets only the server, which relays what matches), both in
the same run, at the same N, one after the other.

Measured per point, from the moment all probes are told to make their node (`go`, after every
process has loaded rclpy, whose start-up is reported apart):
- discovered: wall s until every drone has received its odometry and the ground every command;
- bytes: the hosts' link counters (sum over hosts of what they sent, and of what they
  received) over that phase: discovery, one sample per pair and the reliable protocol's acks;
- UDP drops: datagrams the hosts' kernels dropped at full socket buffers;
- CPU s of every process in that phase, and the mean resident memory of a probe.
`--missions N,..` then flies a generated mission through `swarm-ros launch --hosts` at each N
and discovery, up to the first that fails: the largest N that flies.
A point that does not complete within --timeout is reported as "did not discover" with how far
it got. Needs root (network namespaces); ROS_DOMAIN_ID picks the domain (default 90).
"""
from __future__ import annotations

import argparse
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_count, machine_info, ratio, si, table, write_json  # noqa: E402

NAME = "bench_discovery"
PROBE = Path(__file__).resolve().parent / "discovery_probe.py"
MODES = ("simple", "server")
DEFAULT_SIZES = (10, 25, 50, 100)
HTB = {"n": 25, "kbit": 1000}      # the slow-link variant: every host's link at 1 Mbit/s
GROUND = 0                          # host 0 is the ground (and the Discovery Server's host)


def drone_names(n: int) -> list[str]:
    """The names a generated mission gives its drones (bench/scenarios.py)."""
    return [f"cf{k}" for k in range(n)]


def measure(n: int, mode: str, *, kbit: int | None = None, timeout: float = 120.0,
            startup_timeout: float = 600.0, domain_id: int | None = None, python: str = sys.executable) -> dict:
    """One point: n drone hosts + the ground, discovery `mode` ("simple" or "server"), every link
    capped at `kbit` when given. Returns the figures; a point that does not complete within
    `timeout` s after `go` has discovered=False and how many had heard by then."""
    from swarm_ros import dds_discovery
    from swarm_ros.netns import HostNetwork

    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
    names = drone_names(n)
    # dds_discovery's environments are UDP only: shared memory would pass the links by
    base = dict(os.environ, ROS_DOMAIN_ID=str(domain_id if domain_id is not None
                                              else os.environ.get("ROS_DOMAIN_ID", "90")))
    procs: list[subprocess.Popen] = []
    server = None
    with HostNetwork(n + 1, tag=f"d{os.getpid()}x{n}{mode[:2]}") as net, \
            tempfile.TemporaryDirectory(prefix="bench_discovery_") as tmp:
        if kbit:
            for i in range(n + 1):
                net.rate_limit(i, kbit)
        if mode == "simple":
            env = dds_discovery.simple_env(base)
        else:
            server_log = Path(tmp) / "server.log"
            server = dds_discovery.start_server(net, GROUND, env=base, log=server_log)
            env = dds_discovery.client_env(base, net.address(GROUND))
        t_launch = time.time()
        try:
            procs.append(net.popen(GROUND, [python, str(PROBE), "ground", *names], env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE))
            for k, name in enumerate(names):
                procs.append(net.popen(k + 1, [python, str(PROBE), "drone", name], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE))
            lines = Lines(procs)
            ready = lines.wait(lambda ev: len(ev["ready"]) == len(procs), startup_timeout)
            while server and ready is not None and b"server up" not in server_log.read_bytes():
                if server.poll() is not None or time.time() - t_launch > startup_timeout:
                    ready = None
                time.sleep(0.05)
            if ready is None:
                return {"n": n, "mode": mode, "kbit": kbit, "discovered": False, "startup_s": None,
                        "failure": f"only {len(lines.events['ready'])} of {len(procs)} probes "
                                   f"{'and not the server ' if server else ''}started within {startup_timeout:g} s"}
            startup = max(lines.events["ready"].values()) - t_launch
            every = [GROUND, *range(1, n + 1)]
            before = [net.traffic(i) for i in every]
            cpu_before = cpu_seconds([p.pid for p in procs] + ([server.pid] if server else []))
            t_go = time.time()
            for p in procs:
                p.stdin.write(b"go\n")
                p.stdin.flush()

            def complete(ev):
                return len(ev["heard_ground"]) == n and len(ev["heard_drone"]) == n

            done = lines.wait(complete, timeout)
            t_end = time.time()
            pids = [p.pid for p in procs] + ([server.pid] if server else [])
            cpu_after = cpu_seconds(pids)
            rss = [rss_mb(p.pid) for p in procs]
            server_rss = rss_mb(server.pid) if server else None
            after = [net.traffic(i) for i in every]
            drops = sum(udp_drops(net, i) for i in every)
        finally:
            stop(procs)
            if server:
                dds_discovery.stop_server(server)
    ev = lines.events
    node_times = sorted(ev["node"].values())
    heard = sorted([*ev["heard_ground"].values(), *ev["heard_drone"].values()])
    tx = sum(a["tx_bytes"] - b["tx_bytes"] for a, b in zip(after, before))
    rx = sum(a["rx_bytes"] - b["rx_bytes"] for a, b in zip(after, before))
    packets = sum(a["tx_packets"] - b["tx_packets"] for a, b in zip(after, before))
    rss = [r for r in rss if r is not None]
    return {
        "n": n, "mode": mode, "kbit": kbit, "hosts": n + 1, "processes": len(procs) + (1 if server else 0),
        "discovered": done is not None,
        "startup_s": startup,
        "nodes_up_s": node_times[-1] - t_go if node_times else None,
        "discovery_s": (done - t_go) if done is not None else None,
        "after_last_node_s": (done - node_times[-1]) if done is not None and node_times else None,
        "half_heard_s": heard[len(heard) // 2] - t_go if len(heard) > 0 and len(heard) >= n else None,
        "drones_heard": len(ev["heard_drone"]), "ground_heard": len(ev["heard_ground"]),
        "phase_s": t_end - t_go,
        "tx_bytes": tx, "rx_bytes": rx, "tx_packets": packets, "udp_drops": drops,
        "cpu_s": cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None,
        "rss_mb_mean": sum(rss) / len(rss) if rss else None, "rss_mb_ground": rss[0] if rss else None,
        "server_rss_mb": server_rss,
    }


class Lines:
    """Reads the probes' `ready` / `node` / `heard` lines as they come."""

    def __init__(self, procs):
        self.sel = selectors.DefaultSelector()
        self.buf: dict[int, bytes] = {}
        self.events = {"ready": {}, "node": {}, "heard_ground": {}, "heard_drone": {}}
        for k, p in enumerate(procs):
            os.set_blocking(p.stdout.fileno(), False)
            self.sel.register(p.stdout, selectors.EVENT_READ, k)
            self.buf[k] = b""

    def wait(self, cond, timeout: float) -> float | None:
        """Read until `cond(events)` holds: the time it first did, or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        while not cond(self.events):
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.get_map():
                return None
            for key, _ in self.sel.select(timeout=min(left, 1.0)):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    self.sel.unregister(key.fileobj)
                    continue
                data = self.buf[key.data] + chunk
                *whole, self.buf[key.data] = data.split(b"\n")
                for line in whole:
                    self._take(key.data, line.decode(errors="replace").split())
        return max(t for kind in self.events.values() for t in kind.values())

    def _take(self, k: int, words: list[str]) -> None:
        if len(words) == 2 and words[0] in ("ready", "node"):
            self.events[words[0]][k] = float(words[1])
        elif len(words) == 3 and words[0] == "heard":
            self.events["heard_ground" if k == GROUND else "heard_drone"][words[1]] = float(words[2])


def cpu_seconds(pids) -> float | None:
    """User + system CPU s of these processes so far (from /proc); None where one cannot be read."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def udp_drops(net, i: int) -> int:
    """Datagrams host i's kernel dropped because a socket's receive buffer was full, since the
    host was made (no traffic before `go`): where discovery loses packets on a bridge that does not."""
    out = subprocess.run(net.command(i, ["cat", "/proc/net/snmp"]), capture_output=True, text=True).stdout
    rows = [line.split()[1:] for line in out.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2 or "RcvbufErrors" not in rows[0]:
        return 0
    return int(rows[1][rows[0].index("RcvbufErrors")])


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stop(procs) -> None:
    """Close their stdin (a probe stops), SIGTERM what is left, SIGKILL after 10 s."""
    for p in procs:
        if p.stdin:
            try:
                p.stdin.close()
            except OSError:
                pass
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p.stdout:
            p.stdout.close()


def fly(n: int, mode: str, folder: Path, *, duration: float = 10.0, timeout: float = 600.0) -> dict:
    """A generated sphere mission (bench/scenarios.py) of `n` drones through `swarm-ros launch
    --hosts n+1` in lockstep, without a bag: one drone process per host, the simulator on the
    ground host. It flies when the launch ends normally and no drone was declared lost; the
    verdict (landing included, which a short mission may not finish) is kept beside it."""
    from scenarios import write_scaled_mission

    from swarm_ros.report import lost_drones, verdict

    mission = write_scaled_mission(folder / "mission", n, duration=duration)
    summary_file = folder / "summary.json"
    argv = [sys.executable, "-m", "swarm_ros.cli", "launch", str(mission), "--hosts", str(n + 1), "--discovery", mode,
            "--speed", "0", "--no-record", "--run-dir", str(folder / "run"), "--json", str(summary_file)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired as err:
        rc, tail = None, [f"timed out after {timeout:g} s", *(str(err.stdout or "").splitlines()[-2:])]
    wall = time.perf_counter() - t0
    out = {"n": n, "mode": mode, "duration": duration, "exit_code": rc, "wall_s": wall, "flew": False, "tail": tail}
    if rc == 0 and summary_file.is_file():
        import json
        summary = json.loads(summary_file.read_text())
        lost = lost_drones(summary)
        hosts = summary.get("hosts") or {}
        out.update(flew=lost is None and summary.get("ticks", 0) > 0, lost=lost, verdict=verdict(summary)[0],
                   ticks=summary.get("ticks"), rtf=summary.get("rtf"),
                   rx_bytes=sum(t.get("rx_bytes", 0) for t in (hosts.get("traffic") or {}).values()))
    return out


def shorten(flight: dict, width: int = 100) -> str:
    """The verdict, or the launch's last words, cut to `width` characters."""
    text = flight.get("verdict") or " / ".join(flight["tail"])
    return text if len(text) <= width else text[:width - 3] + "..."


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def label(r: dict) -> str:
    return f"{r['kbit'] / 1000:g} Mbit/s" if r.get("kbit") else "bridge"


def rows_of(results: list[dict]) -> list[list]:
    """Table rows; each server row carries its ratio to the simple row of the same N and link."""
    simple = {(r["n"], r["kbit"]): r for r in results if r["mode"] == "simple"}
    rows = []
    for r in results:
        peer = simple.get((r["n"], r["kbit"])) if r["mode"] == "server" else None
        if not r["discovered"]:
            got = (f"did not discover ({r.get('drones_heard', 0)}/{r['n']} drones, "
                   f"{r.get('ground_heard', 0)}/{r['n']} cmds)") if "drones_heard" in r else r.get("failure", "failed")
        else:
            got = "ok"
        rows.append([r["n"], r["mode"], label(r), fmt(r["startup_s"], 1), fmt(r.get("nodes_up_s")),
                     fmt(r.get("discovery_s")),
                     ratio(r.get("discovery_s"), peer.get("discovery_s")) if peer else "",
                     si(r.get("tx_bytes")), si(r.get("rx_bytes")),
                     ratio(r.get("rx_bytes"), peer.get("rx_bytes")) if peer else "",
                     si(r.get("udp_drops")), fmt(r.get("cpu_s"), 1), fmt(r.get("rss_mb_mean"), 0), got])
    return rows


HEADERS = ["N", "discovery", "link", "startup s", "nodes up s", "discovered s", "vs simple",
           "tx bytes", "rx bytes", "rx vs simple", "UDP drops", "CPU s", "RSS MB", "result"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated N (default 10,25,50,100)")
    ap.add_argument("--modes", default=",".join(MODES), help="simple,server (default both)")
    ap.add_argument("--htb", default=f"{HTB['n']}:{HTB['kbit']}",
                    help="N:KBIT points with every link capped by htb, comma-separated (default 25:1000)")
    ap.add_argument("--no-htb", action="store_true", help="leave out the rate-limited points")
    ap.add_argument("--timeout", type=float, default=120.0, help="s from `go` before a point counts as not discovered")
    ap.add_argument("--startup-timeout", type=float, default=600.0, help="s for every probe to load rclpy")
    ap.add_argument("--missions", default="", help="N,N,..: also fly a generated mission with `swarm-ros launch "
                    "--hosts` at these N, each discovery, up to the first N that fails (e.g. 10,25,50)")
    ap.add_argument("--mission-duration", type=float, default=10.0, help="simulated s per mission (default 10)")
    ap.add_argument("--json", metavar="PATH", help=f"also write the results here (always bench/results/{NAME}.json)")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        ladder = [int(s) for s in args.missions.split(",") if s.strip()]
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        htb = [] if args.no_htb else [tuple(int(x) for x in p.split(":")) for p in args.htb.split(",") if p.strip()]
        if not (sizes or ladder) or any(n < 1 for n in sizes + ladder) or set(modes) - set(MODES) or any(len(p) != 2 for p in htb):
            raise ValueError
    except ValueError:
        print("error: --sizes takes N,N,.. (N >= 1), --modes simple,server, --htb N:KBIT,..", file=sys.stderr)
        return 2
    from swarm_ros.netns import unavailable
    reason = unavailable()
    if reason:
        print(f"error: bench_discovery needs separate hosts: {reason}", file=sys.stderr)
        return 2

    info = machine_info()
    print(f"{NAME}: {info['cpus_usable']} CPUs usable ({info['processor']}), load average "
          f"{info.get('load_average_1min', float('nan')):.2f}; timeout {args.timeout:g} s per point", flush=True)
    points = [(n, m, None) for n in sizes for m in modes] + [(n, m, k) for n, k in htb for m in modes] if sizes else []
    results = []
    for n, mode, kbit in points:
        t0 = time.perf_counter()
        r = measure(n, mode, kbit=kbit, timeout=args.timeout, startup_timeout=args.startup_timeout)
        results.append(r)
        print(f"  N={n:<4d} {mode:6s} {label(r):10s} startup {r['startup_s'] or 0:.1f} s, "
              f"discovered {'in %.2f s' % r['discovery_s'] if r['discovered'] else 'NO'}, "
              f"rx {si(r.get('rx_bytes'))}B, {time.perf_counter() - t0:.0f} s wall", flush=True)
    flights = []
    with tempfile.TemporaryDirectory(prefix="bench_discovery_missions_") as tmp:
        for mode in modes if ladder else ():
            for n in ladder:
                f = fly(n, mode, Path(tmp) / f"{mode}_{n}", duration=args.mission_duration,
                        timeout=args.startup_timeout)
                flights.append(f)
                print(f"  mission N={n:<4d} {mode:6s} {'flew' if f['flew'] else 'FAILED'} "
                      f"({shorten(f)}), {f['wall_s']:.0f} s wall", flush=True)
                if not f["flew"]:
                    break
    if results:
        print()
        print(table(HEADERS, rows_of(results),
                    title=f"DDS discovery, one host per drone + the ground, {cpu_count()} CPUs "
                          f"(peer: simple discovery in the same run)"))
    if flights:
        print()
        print(table(["N", "discovery", "flew", "wall s", "rx bytes", "verdict"],
                    [[f["n"], f["mode"], "yes" if f["flew"] else "no", f"{f['wall_s']:.0f}", si(f.get("rx_bytes")),
                      shorten(f)] for f in flights],
                    title=f"{args.mission_duration:g} s sphere missions through swarm-ros launch --hosts N+1, lockstep, "
                          "no bag (flew: ended normally, no drone lost)"))
        for mode in modes:
            flown = [f["n"] for f in flights if f["mode"] == mode and f["flew"]]
            print(f"largest N flown with {mode} discovery: {max(flown) if flown else 'none'}")
    if not results:
        write_json(NAME + "_missions", {"benchmark": NAME, "machine": info, "missions": flights}, args.json)
        return 0
    print("discovered s: from `go` until every drone heard its odom and the ground every cmd; nodes up s: "
          "until the last probe's node existed; startup: loading rclpy in every probe (before `go`);\n"
          "bytes: sums over the hosts' links in that phase (rx counts each multicast once per receiver); "
          "UDP drops: datagrams dropped at full socket buffers; CPU s: every process in that phase; RSS: mean per probe")
    data = {"benchmark": NAME, "machine": info, "cpus": cpu_count(), "timeout_s": args.timeout,
            "results": results, "missions": flights}
    write_json(NAME, data, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
