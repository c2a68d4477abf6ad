"""`swarm-ros launch`: fly a mission in simulation over ROS 2 and record a bag."""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number >= 0")
    return value


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
    p.add_argument("--per-drone-processes", action="store_true", help="one process per drone (default: one for all)")
    p.add_argument("--run-dir", type=Path, help="folder for bag, logs and summary (default runs/<mission>_<time>)")
    p.add_argument("--no-record", action="store_true", help="do not record a bag")
    p.add_argument("--domain-id", type=domain_id, help="ROS_DOMAIN_ID for this run (default: $ROS_DOMAIN_ID or 0); "
                   "'auto': the first domain from there with no ROS node on it")
    p.add_argument("--lost-after", type=positive_int, help="command timeouts (1 s each) a silent drone is waited "
                   "for before it is declared lost and its failsafe lands it (default 5)")
    p.add_argument("--json", help="also write the summary to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit with code 3 unless the verdict is 'mission OK': on collisions, "
                   "geofence violations, a drone lost, data lost, or more than 1 %% of commands late")
    p.set_defaults(func=cmd_launch)


def cmd_launch(args, console) -> int:
    import os
    from ..run_guard import Conflict
    from ..runner import RunError, run_mission
    mission = load(args.mission)
    domain = args.domain_id
    try:
        if domain == "auto":
            from ..run_guard import free_domain
            domain = free_domain(int(os.environ.get("ROS_DOMAIN_ID", "0") or 0))
        summary = run_mission(mission, speed=args.speed, per_drone_processes=args.per_drone_processes,
                              run_dir=args.run_dir, record=False if args.no_record else None,
                              domain_id=domain, console=console, lost_after=args.lost_after)
    except RunError as err:
        console.print(f"[red]error:[/] {err}")
        return err.exit_code
    except Conflict as err:            # --domain-id auto found no free domain
        console.print(f"[red]error:[/] {err}")
        return 2
    if args.json:
        write_json(args.json, summary)
    from ..report import verdict
    _, ok = verdict(summary)
    return 3 if (args.strict and not ok) else 0
