"""`swarm-ros deploy` (fly a mission on vehicles) and `swarm-ros vehicles` (simulate them).

    swarm-ros vehicles rings --links-out links.yaml      # simulated vehicles for the rings fleet
    swarm-ros deploy rings --backend mixed --links links.yaml --dry-run
    swarm-ros deploy rings --backend mixed --links links.yaml
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

EXIT_PREFLIGHT = 1


def _mission(args):
    from ..hardware.links import load_link_map
    from .launch import load
    mission = load(args.mission)
    overrides = load_link_map(args.links, mission.fleet) if args.links else {}
    return mission, overrides


def cmd_deploy(args, console: Console) -> int:
    from ..deploy import DeployError, close_all, fly, make_backends, preflight, preflight_table
    from ..hardware.preflight import Limits
    mission, overrides = _mission(args)
    backends = make_backends(mission, args.backend, overrides)
    limits = Limits(args.min_battery, args.pad_tolerance, args.connect_timeout, not args.allow_no_land_failsafe)
    console.print(f"[bold]swarm_ros deploy[/] {mission.name}: {len(backends)} vehicles, backend {args.backend}"
                  + (" (dry run: checks only)" if args.dry_run else ""))
    try:
        checks, problems = preflight(mission, backends, limits)
        console.print(preflight_table(checks))
        for c in checks:
            for line in c.warnings:
                console.print(f"[yellow]warning:[/] {line}", highlight=False)
        if problems:
            for line in problems:
                print(f"error: preflight: {line}", file=sys.stderr)
            print(f"error: preflight failed for {len({c.name for c in checks if not c.ok})} of {len(checks)} "
                  "vehicles; no vehicle was armed", file=sys.stderr)
            return EXIT_PREFLIGHT
        if args.dry_run:
            console.print("preflight passed; dry run: nothing armed")
            return 0
        try:
            summary = fly(mission, backends, console=console, domain_id=args.domain_id,
                          per_drone_processes=args.per_drone_processes, run_dir=args.run_dir,
                          record=False if args.no_record else None, start_nodes=not args.nodes_from_launch)
        except DeployError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    finally:
        close_all(backends)
    _report(summary, console)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    if summary["outcome"] == "interrupted":
        return 130
    return 0 if summary["outcome"] == "completed" and all(d["landed"] for d in summary["drones"]) else 1


def _report(summary: dict, console: Console) -> None:
    from ..report import cell
    landed = sum(d["landed"] for d in summary["drones"])
    console.print(f"{summary['mission']}: {summary['outcome']} at t {summary['mission_time']:.1f} s; "
                  f"{landed}/{len(summary['drones'])} landed; measured minimum separation "
                  f"{cell(summary['min_separation'], '{:.2f} m', 'n/a')}, {summary['collisions']} contacts, "
                  f"{summary['geofence_violations']} geofence exits; run folder {summary['run_dir']}"
                  + (f"; bag {summary['bag']}" if summary["bag"] else ""))


def cmd_vehicles(args, console: Console) -> int:
    from ..hardware.links import served_links, write_link_map
    from ..report import cell
    from sim.vehicles.autopilot import Failsafe
    from sim.vehicles.server import UnservedAutopilot, VehicleServer
    mission, overrides = _mission(args)
    links = served_links(mission.fleet, overrides, args.port_base)
    battery = {}
    for item in args.battery or []:
        name, _, value = item.partition("=")
        if name not in mission.fleet.names or not value.replace(".", "", 1).isdigit():
            print(f"error: --battery {item!r}: expected DRONE=LEVEL with a drone of fleet {mission.fleet.name!r} "
                  f"({', '.join(mission.fleet.names)}) and a charge in percent", file=sys.stderr)
            return 2
        battery[name] = float(value)
    controller = None if args.cf_controller == "pointmass" else args.cf_controller
    try:
        if args.px4 == "sih":
            server = _px4_sih(args, mission, links, Failsafe(args.hover_after, args.land_after), battery, console)
            if isinstance(server, int):
                return server
            links = server.links()
        else:
            server = VehicleServer(mission, links, Failsafe(args.hover_after, args.land_after), battery,
                                   cf_controller=controller)
    except UnservedAutopilot as err:              # an autopilot with no simulated link
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"error: --cf-controller {args.cf_controller}: {err}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as err:        # a port in use; a PX4 that did not boot
        print(f"error: {err}", file=sys.stderr)
        return 1
    console.print(f"Crazyflies fly: {server.cf_flight}", highlight=False)
    if args.links_out:
        write_link_map(args.links_out, links)
    for d in mission.fleet.drones:
        console.print(f"  {d.name:8} {d.platform:14} at {links[d.name]}")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.px4 != "sih":
            server.start()
        console.print(f"serving {len(links)} simulated vehicles; Ctrl-C ends", highlight=False)
        sys.stdout.flush()
        # short waits: a signal that lands on another thread (PX4 truth readers, the server) only runs
        # its handler once the main thread wakes, and an endless wait would never wake
        end = None if args.duration is None else time.monotonic() + args.duration
        while not stop.wait(0.2) and (end is None or time.monotonic() < end):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = server.summary()
    console.print(f"vehicles: {summary['collisions']} collisions, {summary['geofence_violations']} geofence exits, "
                  f"minimum separation {cell(summary['min_separation'], '{:.2f} m', 'n/a')}, landed "
                  f"{sum(d['landed'] for d in summary['drones'])}/{len(summary['drones'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


def _px4_sih(args, mission, links, failsafe, battery, console):
    """The real PX4 (SIH) for the fleet's PX4 drones, the simulated Crazyflies for the rest; started
    (PX4 boots in 5-15 s). An int is the exit code of a one-line error."""
    from sim.vehicles.mixed import MixedVehicles
    from sim.vehicles.px4_sih import Px4NotFound, find_px4
    from .launching import default_run_dir
    try:
        dist = find_px4(args.px4_dir)
    except Px4NotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    px4 = [d.name for d in mission.fleet.drones if d.sysid is not None]
    if set(battery) & set(px4):
        print(f"error: --battery {sorted(set(battery) & set(px4))[0]}: a real PX4 sets its battery itself "
              "(SIM_BAT_* parameters); --battery is for simulated vehicles", file=sys.stderr)
        return 2
    run = args.run_dir or default_run_dir(mission).with_name(default_run_dir(mission).name + "_vehicles")
    console.print(f"starting PX4 SIH ({dist}) for {', '.join(px4)}; working folders in {run}", highlight=False)
    return MixedVehicles(mission, links, run, dist, failsafe=failsafe, battery=battery,
                         flight_log=args.px4_flight_log).start()


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number > 0")
    return value


def add_parser(sub) -> None:
    from ..hardware import backend_choices
    from ..hardware.links import DEFAULT_PORT_BASE
    p = sub.add_parser("deploy", help="fly a mission on Crazyflies (cflib) and PX4 vehicles (MAVLink)")
    p.add_argument("mission", help="mission file, or the name of an installed mission")
    p.add_argument("--backend", choices=backend_choices(), required=True,
                   help="crazyflie / px4: every drone must be of that kind; mixed: each drone by its platform")
    p.add_argument("--links", help="link map (YAML drone: uri) overriding the fleet file's uri fields")
    p.add_argument("--dry-run", action="store_true", help="run the preflight checks only; arm nothing")
    p.add_argument("--min-battery", type=float, default=30.0, help="percent a vehicle needs to fly (default 30)")
    p.add_argument("--pad-tolerance", type=_positive, default=0.5,
                   help="m a vehicle may be from its start pad in the fleet file (default 0.5)")
    p.add_argument("--connect-timeout", type=_positive, default=5.0, help="s to reach each vehicle (default 5)")
    p.add_argument("--allow-no-land-failsafe", action="store_true",
                   help="fly vehicles that do not land on link loss (stock Crazyflie firmware: motors stop after 2 s)")
    p.add_argument("--per-drone-processes", action="store_true", help="one drone-node process per vehicle")
    p.add_argument("--run-dir", type=Path, help="folder for logs, bag and summary.json")
    p.add_argument("--no-record", action="store_true", help="do not record a bag (odom, cmd, radio)")
    p.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID (default: $ROS_DOMAIN_ID or 0)")
    p.add_argument("--json", help="also write the summary to this JSON file")
    p.add_argument("--nodes-from-launch", action="store_true",
                   help="do not start the drone nodes and recorder: deploy.launch.py starts them")
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser("vehicles", help="serve simulated vehicles (CRTP / MAVLink over UDP) for a mission's fleet")
    p.add_argument("mission")
    p.add_argument("--links", help="link map (YAML drone: udp://host:port) overriding the fleet file's uri fields")
    p.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                   help=f"radio:// drones are served at udp://127.0.0.1:<port-base + fleet index> (default {DEFAULT_PORT_BASE})")
    p.add_argument("--links-out", help="write the link map served (for deploy --links)")
    p.add_argument("--hover-after", type=_positive, default=0.5, help="s without setpoints before hovering (default 0.5)")
    p.add_argument("--land-after", type=_positive, default=2.0, help="s of link silence before landing (default 2)")
    p.add_argument("--battery", action="append", metavar="DRONE=LEVEL", help="start a vehicle with this charge in percent (repeatable)")
    p.add_argument("--cf-controller", default="mellinger", metavar="NAME",
                   help="firmware controller of the simulated Crazyflies: mellinger (default), pid, lee, brescianini, "
                        "or pointmass for the point-mass stand-in (also used where the cffirmware bindings are absent)")
    p.add_argument("--duration", type=_positive, help="stop after this many seconds (default: on Ctrl-C)")
    p.add_argument("--json", help="write the vehicles' ground-truth summary to this JSON file")
    p.add_argument("--px4", choices=("imitation", "sih"), default="imitation",
                   help="PX4 drones: the built-in imitation (default), or the real PX4 autopilot with its SIH "
                        "simulator, one process per drone")
    p.add_argument("--px4-dir", help="PX4 SITL build folder (bin/px4, etc/); default $PX4_SIH_DIR or ../shared/px4-sih")
    p.add_argument("--px4-flight-log", action="store_true", help="let PX4 write its flight logs (off by default)")
    p.add_argument("--run-dir", type=Path, help="folder for PX4's working folders (default runs/<mission>_<time>_vehicles)")
    p.set_defaults(func=cmd_vehicles)
