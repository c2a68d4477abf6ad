"""Synthetic missions of any size for benchmarks: N Crazyflies form a sphere in an open hall."""
from __future__ import annotations

import math
from pathlib import Path

import yaml


TAKEOFF_DURATION = 3.0   # s


def write_scaled_mission(folder: Path, n: int, *, duration: float = 20.0, control_rate: float = 50.0,
                         speed: float = 0.0, view_rate: float = 10.0, land_duration: float | None = None) -> Path:
    """Write fleet, world and mission files for `n` drones into `folder`; return the mission path.

    The hall grows with `n` so the launch grid and the sphere fit inside the geofence. Landing
    returns to the pads and by default gets the time that needs (about 6 sphere radii + 12 s);
    when `duration` is too short for that (short benchmark runs), landing gets half of the time
    after take-off instead, so any duration above the 3 s take-off gives a valid mission (the
    drones may then not be down at the end). `land_duration` sets it explicitly.
    """
    if duration <= TAKEOFF_DURATION:
        raise ValueError(f"duration {duration:g} s must exceed the {TAKEOFF_DURATION:g} s take-off")
    folder.mkdir(parents=True, exist_ok=True)
    side = math.ceil(math.sqrt(n))
    spacing = 1.0
    rows = math.ceil(n / side)
    # fence: the old hall size, grown where the launch grid (y down to -2 - (rows-1)) needs it
    half = max(spacing * side / 2 + 5, 2.0 + (rows - 1) * spacing + 2.0)
    radius = max(2.0, spacing * math.sqrt(n / (4 * math.pi)) * 1.2)
    ceiling = max(12, math.ceil(2 * radius + 1.5 + 3))   # sphere top (centre radius + 1.5) + 3 m
    if land_duration is None:
        land_duration = math.ceil(6 * radius + 12)
        if TAKEOFF_DURATION + land_duration >= duration:
            land_duration = (duration - TAKEOFF_DURATION) / 2
    # launch grid south of the central column, centred in x
    drones = {f"cf{k}": {"type": "cf", "start": [(k % side - (side - 1) / 2) * spacing, -2.0 - (k // side) * spacing, 0]}
              for k in range(n)}
    (folder / "fleet.yaml").write_text(yaml.safe_dump({
        "name": f"bench_{n}", "types": {"cf": {"platform": "crazyflie_2.1", "role": "shell"}}, "drones": drones}))
    (folder / "world.yaml").write_text(yaml.safe_dump({
        "name": "open_hall", "bounds": {"min": [-half, -half, 0], "max": [half, half, ceiling]},
        "obstacles": [{"name": "column", "type": "cylinder", "center": [0, 0], "radius": 0.5, "height": ceiling}]}))
    mission = {
        "name": f"bench_{n}", "fleet": "fleet.yaml", "world": "world.yaml", "duration": duration,
        "control_rate": control_rate,
        "phases": {"takeoff": {"altitude": 1.0, "duration": TAKEOFF_DURATION},
                   "land": {"at": "home", "speed": 0.6, "duration": land_duration}},
        "roles": {"shell": {"controller": "formation",
                            "params": {"shape": "sphere", "center": [0, 0, radius + 1.5], "radius": radius,
                                       "spacing": 1.5}}},
        "radio": {"range": 6, "loss": 0.05, "latency": 0.01, "beacon_rate": 10},
        "sim": {"physics_rate": 4 * control_rate, "speed": speed},
        "view_rate": view_rate,
        "record": {"topics": ["odom", "cmd", "radio", "status"]},
    }
    path = folder / "mission.yaml"
    path.write_text(yaml.safe_dump(mission, sort_keys=False))
    return path
