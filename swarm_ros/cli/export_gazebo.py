"""`swarm-ros export-gazebo`: a mission's world and fleet as Gazebo (gz-sim) SDF, with the
ros_gz_bridge config that connects the drone nodes to it (launch/gazebo.launch.py uses both)."""
from __future__ import annotations

from pathlib import Path

from ..core.configfile import ConfigError
from ..core.resources import find_mission

WHERE = "swarm-ros export-gazebo"


def add_parser(sub) -> None:
    p = sub.add_parser("export-gazebo", help="write a mission's world and fleet as Gazebo SDF (+ ros_gz bridge config)")
    p.add_argument("mission", help="mission file, or the name of an installed mission (e.g. rings)")
    p.add_argument("--out", type=Path, required=True, help="folder for <mission>.sdf, <mission>_bridge.yaml, models/")
    p.set_defaults(func=cmd_export_gazebo)


def cmd_export_gazebo(args, console) -> int:
    from sim.gazebo import export
    from ..gazebo_bridge import bridge_config
    from ..mission import load_mission
    mission = load_mission(find_mission(args.mission))
    bare = next((d for d in mission.fleet.drones if d.airframe is None), None)
    if bare:
        raise ConfigError(bare.platform_spec.file, "airframe", f"missing: drone {bare.name!r} needs a rigid-body model "
                          "for Gazebo", "an airframe section (as in config/platforms/crazyflie_2.1.yaml)")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(WHERE, "--out", f"{args.out} is a file", "a folder (created if missing)")
    try:
        files = export(mission, args.out, bridge_config(mission))
    except OSError as err:
        raise ConfigError(WHERE, "--out", f"cannot write {args.out}: {err.strerror}", "a writable folder") from None
    for kind, path in files.items():
        console.print(f"{kind:24} {path}")
    console.print(f"gazebo: gz sim -r {files['world']}  (drones need the bridge: launch/gazebo.launch.py)")
    return 0
