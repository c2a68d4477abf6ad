"""`swarm-ros vehicles`: serve simulated vehicles (CRTP / MAVLink over UDP) for a mission's fleet,
optionally with the real PX4 (SIH) for its PX4 drones, for `swarm-ros deploy` to fly.

    swarm-ros vehicles first_flight --links-out links.yaml --json truth.json
    swarm-ros vehicles first_flight --px4 sih --links-out links.yaml
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .deploy import mission_and_links, positive

if TYPE_CHECKING:
    from rich.console import Console


def cmd_vehicles(args, console: Console) -> int:
    from ..hardware.links import served_links, write_link_map
    from ..report import cell
    from sim.vehicles.autopilot import Failsafe
    from sim.vehicles.server import UnservedAutopilot, VehicleServer
    mission, overrides = mission_and_links(args)
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
            server = _px4_sih(args, mission, links, Failsafe(args.hover_after, args.land_after), battery, console,
                              controller)
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


def _px4_sih(args, mission, links, failsafe, battery, console, cf_controller):
    """The real PX4 (SIH) for the fleet's PX4 drones, the simulated Crazyflies for the rest; started
    (PX4 boots in 5-15 s). An int is the exit code of a one-line error."""
    from sim.vehicles.mixed import MixedVehicles
    from sim.vehicles.px4_sih import Px4NotFound, find_px4
    from ..launching import default_run_dir
    try:
        dist = find_px4(args.px4_dir)
    except Px4NotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    px4 = [d.name for d in mission.fleet.drones if d.autopilot == "px4"]
    if set(battery) & set(px4):
        print(f"error: --battery {sorted(set(battery) & set(px4))[0]}: a real PX4 sets its battery itself "
              "(SIM_BAT_* parameters); --battery is for simulated vehicles", file=sys.stderr)
        return 2
    stamped = default_run_dir(mission)            # one time stamp for the default folder's name
    run = args.run_dir or stamped.with_name(stamped.name + "_vehicles")
    console.print(f"starting PX4 SIH ({dist}) for {', '.join(px4)}; working folders in {run}", highlight=False)
    return MixedVehicles(mission, links, run, dist, failsafe=failsafe, battery=battery,
                         flight_log=args.px4_flight_log, cf_controller=cf_controller).start()


def add_parser(sub) -> None:
    from ..hardware.links import DEFAULT_PORT_BASE
    p = sub.add_parser("vehicles", help="serve simulated vehicles (CRTP / MAVLink over UDP) for a mission's fleet")
    p.add_argument("mission")
    p.add_argument("--links", help="link map (YAML drone: udp://host:port) overriding the fleet file's uri fields")
    p.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE,
                   help=f"radio:// drones are served at udp://127.0.0.1:<port-base + fleet index> (default {DEFAULT_PORT_BASE})")
    p.add_argument("--links-out", help="write the link map served (for deploy --links)")
    p.add_argument("--hover-after", type=positive, default=0.5, help="s without setpoints before hovering (default 0.5)")
    p.add_argument("--land-after", type=positive, default=2.0, help="s of link silence before landing (default 2)")
    p.add_argument("--battery", action="append", metavar="DRONE=LEVEL", help="start a vehicle with this charge in percent (repeatable)")
    p.add_argument("--cf-controller", default="mellinger", metavar="NAME",
                   help="firmware controller of the simulated Crazyflies: mellinger (default), pid, lee, brescianini, "
                        "or pointmass for the point-mass stand-in (also used where the cffirmware bindings are absent)")
    p.add_argument("--duration", type=positive, help="stop after this many seconds (default: on Ctrl-C)")
    p.add_argument("--json", help="write the vehicles' ground-truth summary to this JSON file")
    p.add_argument("--px4", choices=("imitation", "sih"), default="imitation",
                   help="PX4 drones: the built-in imitation (default), or the real PX4 autopilot with its SIH "
                        "simulator, one process per drone")
    p.add_argument("--px4-dir", help="PX4 SITL build folder (bin/px4, etc/); default $PX4_SIH_DIR or ../shared/px4-sih")
    p.add_argument("--px4-flight-log", action="store_true", help="let PX4 write its flight logs (off by default)")
    p.add_argument("--run-dir", type=Path, help="folder for PX4's working folders (default runs/<mission>_<time>_vehicles)")
    p.set_defaults(func=cmd_vehicles)
