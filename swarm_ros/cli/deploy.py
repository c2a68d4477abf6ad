"""`swarm-ros deploy`: fly a mission on vehicles (`swarm-ros vehicles` simulates them).

    swarm-ros vehicles rings --links-out links.yaml      # simulated vehicles for the rings fleet
    swarm-ros deploy rings --backend mixed --links links.yaml --dry-run
    swarm-ros deploy rings --backend mixed --links links.yaml
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

EXIT_PREFLIGHT = 1


def mission_and_links(args):
    from ..hardware.links import load_link_map
    from .launch import load
    mission = load(args.mission)
    overrides = load_link_map(args.links, mission.fleet) if args.links else {}
    return mission, overrides


def cmd_deploy(args, console: Console) -> int:
    from ..deploy import DeployError, close_all, fly, make_backends, preflight, preflight_table
    from ..hardware.preflight import Limits
    mission, overrides = mission_and_links(args)
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


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number > 0")
    return value


def add_parser(sub) -> None:
    from ..hardware import backend_choices
    p = sub.add_parser("deploy", help="fly a mission on Crazyflies (cflib) and PX4 vehicles (MAVLink)")
    p.add_argument("mission", help="mission file, or the name of an installed mission")
    p.add_argument("--backend", choices=backend_choices(), required=True,
                   help="crazyflie / px4: every drone must be of that kind; mixed: each drone by its platform")
    p.add_argument("--links", help="link map (YAML drone: uri) overriding the fleet file's uri fields")
    p.add_argument("--dry-run", action="store_true", help="run the preflight checks only; arm nothing")
    p.add_argument("--min-battery", type=float, default=30.0, help="percent a vehicle needs to fly (default 30)")
    p.add_argument("--pad-tolerance", type=positive, default=0.5,
                   help="m a vehicle may be from its start pad in the fleet file (default 0.5)")
    p.add_argument("--connect-timeout", type=positive, default=5.0, help="s to reach each vehicle (default 5)")
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
