"""`swarm-ros launch`: fly a mission in simulation over ROS 2 and record a bag."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 0")
    return value


def port_number(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number 0-65535")
    return value


def add_view_options(p) -> None:
    """--view and where it serves; shared by launch and headless."""
    p.add_argument("--view", choices=["foxglove"], help="serve the swarm live over the Foxglove WebSocket "
                   "protocol while it flies (needs foxglove-sdk: pip install 'swarm_ros[view]')")
    p.add_argument("--view-host", default="127.0.0.1", help="address the live view listens on (default 127.0.0.1: "
                   "this machine only)")
    p.add_argument("--view-port", type=port_number, default=8765, help="port of the live view (default 8765; "
                   "0: any free port)")


def free_port(host: str, port: int) -> int:
    """`port` if it can be bound on `host` (a free one for 0); SystemExit(2) with one line if not."""
    import socket
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as err:
            print(f"error: --view-port {port}: cannot listen on {host}:{port} ({err.strerror}); "
                  "choose another port, or 0 for any free one", file=sys.stderr)
            raise SystemExit(2) from None
        return s.getsockname()[1]


def domain_id(text: str):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 232:
        raise argparse.ArgumentTypeError(f"{text} is not a ROS domain id (0-232) or 'auto'")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def write_json(path: str, summary: dict) -> None:
    try:
        Path(path).write_text(json.dumps(summary, indent=2))
    except OSError as err:
        raise SystemExit(f"error: cannot write {path}: {err}") from None


def load(name_or_path: str):
    """A mission by file path or installed name, validated."""
    from ..mission import load_mission
    from ..core.resources import find_mission
    return load_mission(find_mission(name_or_path))


def add_parser(sub) -> None:
    p = sub.add_parser("launch", help="fly a mission in simulation over ROS 2 and record a bag")
    p.add_argument("mission", help="mission file, or the name of an installed mission (e.g. rings)")
    p.add_argument("--speed", type=non_negative, help="real-time factor to aim at (0 = as fast as possible); "
                   "default: the mission's sim.speed")
    procs = p.add_mutually_exclusive_group()
    procs.add_argument("--per-drone-processes", action="store_true",
                       help="one process per drone (default: one for all)")
    procs.add_argument("--drone-processes", type=positive_int, metavar="K", help="the drones in K processes of "
                       "contiguous shares, run in parallel (default 1; docs/guide/ros-cpu.md)")
    p.add_argument("--run-dir", type=Path, help="folder for bag, logs and summary (default runs/<mission>_<time>)")
    p.add_argument("--no-record", action="store_true", help="do not record a bag")
    p.add_argument("--domain-id", type=domain_id, help="ROS_DOMAIN_ID for this run (default: $ROS_DOMAIN_ID or 0); "
                   "'auto': the first domain from there with no ROS node on it")
    p.add_argument("--lost-after", type=positive_int, help="command timeouts (1 s each) a silent drone is waited "
                   "for before it is declared lost and its failsafe lands it (default 5)")
    p.add_argument("--json", help="also write the summary to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit with code 3 also when more than 1 %% of commands were "
                   "late (a failed mission exits 3 always: collisions, geofence violations, a drone not landed where "
                   "the mission says, a drone or service lost, data lost; docs/guide/verdicts.md)")
    add_view_options(p)
    h = p.add_argument_group("separate hosts (root only; docs/guide/hosts.md)")
    h.add_argument("--hosts", type=positive_int, help="run on N hosts of their own (network namespaces on one "
                   "bridge): the simulator, recorder and services on host 0, one process per drone dealt over hosts "
                   "1..N-1 (implies --per-drone-processes)")
    h.add_argument("--discovery", choices=["simple", "server"], default="simple", help="DDS discovery across the "
                   "hosts: simple (multicast on the made bridge, the default) or a Fast DDS Discovery Server on host 0")
    h.add_argument("--link-down", action="append", default=[], metavar="HOST:START-END", help="take a drone host's "
                   "link down at START and up again at END (mission seconds); repeatable")
    h.add_argument("--kill-host", action="append", default=[], metavar="HOST:TIME", help="kill a drone host (its "
                   "processes and namespace) at TIME (mission seconds); repeatable")
    p.set_defaults(func=cmd_launch)


def host_run(args, mission):
    """The hosts.HostRun that --hosts and its options ask for, or None; SystemExit(2) with one line."""
    if not args.hosts:
        if args.link_down or args.kill_host or args.discovery != "simple":
            print("error: --discovery, --link-down and --kill-host need --hosts N", file=sys.stderr)
            raise SystemExit(2)
        return None
    from ..hosts import HostRun, parse_fault
    if args.view:
        print("error: --view with --hosts: the live view would listen inside the ground host's network, "
              "out of reach; use one or the other", file=sys.stderr)
        raise SystemExit(2)
    try:
        run = HostRun(args.hosts, args.discovery)      # refuses fewer than 2 hosts
        run.faults = [parse_fault(option, text, args.hosts, mission.duration)
                      for option, given in (("--link-down", args.link_down), ("--kill-host", args.kill_host))
                      for text in given]
        return run
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_launch(args, console) -> int:
    import os
    from ..preflight import preflight
    from ..run_guard import Conflict
    from ..runner import RunError, run_mission
    if args.hosts:                     # before anything else: without root nothing can be made
        from ..netns import unavailable
        reason = unavailable()
        if reason:
            print(f"error: --hosts: {reason}", file=sys.stderr)
            return 2
    mission = load(args.mission)
    if args.drone_processes is not None:
        from ..launching import drone_groups
        try:
            if args.hosts:
                raise ValueError("--hosts puts one process per drone on the drone hosts; use one or the other")
            drone_groups(mission.fleet.names, args.drone_processes)      # the bound, checked where it is kept
        except ValueError as err:
            print(f"error: --drone-processes {args.drone_processes}: {mission.file}: {err}", file=sys.stderr)
            return 2
    hosts = host_run(args, mission)
    preflight(mission, args.run_dir)
    domain = args.domain_id
    live = None
    if args.view:
        if mission.view_rate <= 0:
            print(f"error: --view: {mission.file}: view_rate is 0, so no poses are published to view; "
                  "set view_rate > 0 in the mission file", file=sys.stderr)
            return 2
        live = (args.view_host, free_port(args.view_host, args.view_port))
    try:
        if domain == "auto":
            from ..run_guard import free_domain
            domain = free_domain(int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
        summary = run_mission(mission, speed=args.speed, per_drone_processes=args.per_drone_processes or bool(hosts),
                              drone_processes=args.drone_processes,
                              run_dir=args.run_dir, record=False if args.no_record else None,
                              domain_id=domain, console=console, live=live, lost_after=args.lost_after,
                              hosts=hosts)
    except RunError as err:
        console.print(f"[red]error:[/] {err}")
        return err.exit_code
    except Conflict as err:            # --domain-id auto found no free domain
        console.print(f"[red]error:[/] {err}")
        return 2
    if args.json:
        write_json(args.json, summary)
    from ..report import exit_code
    return exit_code(summary, args.strict)
