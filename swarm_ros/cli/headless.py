"""`swarm-ros headless`: fly a mission in one process without ROS (fast, batched)."""
from __future__ import annotations

import sys

from .launch import add_view_options, load, non_negative, write_json


def add_parser(sub) -> None:
    p = sub.add_parser("headless", help="fly a mission in one process without ROS (fast, batched)")
    p.add_argument("mission")
    p.add_argument("--json", help="write the summary to this JSON file")
    add_view_options(p)
    p.add_argument("--speed", type=non_negative, help="with --view: real-time factor to fly at "
                   "(default 1; 0 = as fast as possible)")
    p.add_argument("--view-wait", type=non_negative, metavar="S", help="with --view: wait up to S "
                   "seconds for Foxglove to connect before taking off (default 0: take off at once)")
    p.add_argument("--strict", action="store_true", help="as in launch (exit 3 unless 'mission OK'); a failed "
                   "mission exits 3 without it too, and headless runs have no late commands (docs/guide/verdicts.md)")
    p.set_defaults(func=cmd_headless)


def cmd_headless(args, console) -> int:
    from ..headless import fly
    from ..report import exit_code, summary_table
    unused = [flag for flag, value in (("--speed", args.speed), ("--view-wait", args.view_wait)) if value is not None]
    if unused and not args.view:
        print(f"error: {unused[0]} applies to a viewed flight only (a headless run without --view flies as fast "
              "as it can); add --view foxglove", file=sys.stderr)
        return 2
    mission = load(args.mission)
    view = observer = None
    if args.view:
        from ..live_view import FlightView, LiveView, ViewError, layout_file
        try:
            view = LiveView(mission, args.view_host, args.view_port)
        except ViewError as err:
            print(f"error: --view: {err}", file=sys.stderr)
            return 2
        console.print(f"live view: open {view.url} in Foxglove (layout: {layout_file()})", highlight=False,
                      soft_wrap=True)
        if args.view_wait:
            console.print(f"waiting up to {args.view_wait:g} s for Foxglove to connect ...")
            view.wait_for_client(args.view_wait)
        observer = FlightView(view, mission, 1.0 if args.speed is None else args.speed)
    try:
        with console.status(f"flying {mission.name} headless"):
            summary = fly(mission, observer=observer).summary()
    finally:
        if view is not None:
            view.close()
    console.print(summary_table(summary))
    if args.json:
        write_json(args.json, summary)
    return exit_code(summary, args.strict)
