"""`swarm-ros check`: validate a mission file with its fleet and world, and show what it flies."""
from __future__ import annotations

from pathlib import Path

from .launch import load


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="validate a mission file with its fleet and world")
    p.add_argument("mission")
    p.add_argument("--run-dir", type=Path, help="the run folder `launch --run-dir` would be given (checked for "
                   "being writable; default: a new folder under the mission's record.path)")
    p.set_defaults(func=cmd_check)


def cmd_check(args, console) -> int:
    from ..preflight import preflight
    m = load(args.mission)
    preflight(m, args.run_dir)
    console.print(f"{m.file}: mission {m.name!r} is valid: fleet {m.fleet.name!r} ({len(m.fleet.drones)} drones), "
                  f"world {m.world.name!r} ({m.world.n_obstacles} obstacles), {m.duration:g} s at {m.control_rate:g} Hz")
    for d in m.fleet.drones:
        v = d.vehicle
        console.print(f"  {d.name:8} {d.type:8} {d.platform:14} role {d.role:12} start {list(d.start)} "
                      f"max speed {v.max_speed:g} m/s, radio {v.radio_range:g} m")
    return 0
