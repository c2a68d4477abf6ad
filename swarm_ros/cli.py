"""The `swarm-ros` command: launch missions, check mission files, fly them headless."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from rich.console import Console

from . import cli_analyze, cli_cao, cli_deploy, cli_fisc, cli_patch, cli_plan, cli_policy, cli_sim, cli_swarmsync
from .configfile import ConfigError
from .resources import find_mission


def _load(path: str):
    from .mission import load_mission
    return load_mission(find_mission(path))


def cmd_check(args, console: Console) -> int:
    m = _load(args.mission)
    console.print(f"{m.file}: mission {m.name!r} is valid: fleet {m.fleet.name!r} ({len(m.fleet.drones)} drones), "
                  f"world {m.world.name!r} ({m.world.n_obstacles} obstacles), {m.duration:g} s at {m.control_rate:g} Hz")
    for d in m.fleet.drones:
        v = d.vehicle
        console.print(f"  {d.name:8} {d.type:8} {d.platform:14} role {d.role:12} start {list(d.start)} "
                      f"max speed {v.max_speed:g} m/s, radio {v.radio_range:g} m")
    return 0


def cmd_launch(args, console: Console) -> int:
    from .runner import RunError, run_mission
    mission = _load(args.mission)
    try:
        summary = run_mission(mission, speed=args.speed, per_drone_processes=args.per_drone_processes,
                              run_dir=args.run_dir, record=False if args.no_record else None,
                              domain_id=args.domain_id, console=console)
    except RunError as err:
        console.print(f"[red]error:[/] {err}")
        return 1
    if args.json:
        _write_json(args.json, summary)
    failed = summary["collisions"] or summary["geofence_violations"]
    return 3 if (args.strict and failed) else 0


def cmd_headless(args, console: Console) -> int:
    from .headless import fly
    from .report import summary_table
    mission = _load(args.mission)
    with console.status(f"flying {mission.name} headless"):
        summary = fly(mission).summary()
    console.print(summary_table(summary))
    if args.json:
        _write_json(args.json, summary)
    return 0


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 0")
    return value


def _write_json(path: str, summary: dict) -> None:
    try:
        Path(path).write_text(json.dumps(summary, indent=2))
    except OSError as err:
        raise SystemExit(f"error: cannot write {path}: {err}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swarm-ros", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("launch", help="fly a mission in simulation over ROS 2 and record a bag")
    p.add_argument("mission", help="mission file, or the name of an installed mission (e.g. rings)")
    p.add_argument("--speed", type=_non_negative, help="real-time factor to aim at (0 = as fast as possible); "
                   "default: the mission's sim.speed")
    p.add_argument("--per-drone-processes", action="store_true", help="one process per drone (default: one for all)")
    p.add_argument("--run-dir", type=Path, help="folder for bag, logs and summary (default runs/<mission>_<time>)")
    p.add_argument("--no-record", action="store_true", help="do not record a bag")
    p.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID for this run (default: $ROS_DOMAIN_ID or 0)")
    p.add_argument("--json", help="also write the summary to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit with code 3 on collisions or geofence violations")
    p.set_defaults(func=cmd_launch)
    p = sub.add_parser("check", help="validate a mission file with its fleet and world")
    p.add_argument("mission")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("headless", help="fly a mission in one process without ROS (fast, batched)")
    p.add_argument("mission")
    p.add_argument("--json", help="write the summary to this JSON file")
    p.set_defaults(func=cmd_headless)
    cli_cao.add_parser(sub)
    cli_fisc.add_parser(sub)
    cli_plan.add_parser(sub)
    cli_policy.add_parser(sub)
    cli_analyze.add_parser(sub)
    cli_patch.add_parser(sub)
    cli_swarmsync.add_parser(sub)
    cli_deploy.add_parser(sub)
    cli_sim.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # Logs and pipes get a fixed width wide enough for the summary table.
    console = Console(width=None if sys.stdout.isatty() else 120)
    # SIGTERM stops a run as Ctrl-C does, so child processes are always cleaned up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return args.func(args, console)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
