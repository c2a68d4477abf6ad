"""`swarm-ros headless`: fly a mission in one process without ROS (fast, batched)."""
from __future__ import annotations

from .launch import load, write_json


def add_parser(sub) -> None:
    p = sub.add_parser("headless", help="fly a mission in one process without ROS (fast, batched)")
    p.add_argument("mission")
    p.add_argument("--json", help="write the summary to this JSON file")
    p.add_argument("--strict", action="store_true", help="exit with code 3 unless the verdict is 'mission OK' "
                   "(docs/guide/verdicts.md)")
    p.set_defaults(func=cmd_headless)


def cmd_headless(args, console) -> int:
    from ..headless import fly
    from ..report import summary_table, verdict
    mission = load(args.mission)
    with console.status(f"flying {mission.name} headless"):
        summary = fly(mission).summary()
    console.print(summary_table(summary))
    if args.json:
        write_json(args.json, summary)
    return 3 if args.strict and not verdict(summary)[1] else 0
