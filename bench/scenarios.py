"""Synthetic missions of any size for benchmarks: N Crazyflies form a sphere in an open hall."""
from __future__ import annotations

import math
from pathlib import Path

import yaml


def write_scaled_mission(folder: Path, n: int, *, duration: float = 20.0, control_rate: float = 50.0,
                         speed: float = 0.0, view_rate: float = 10.0) -> Path:
    """Write fleet, world and mission files for `n` drones into `folder`; return the mission path."""
    folder.mkdir(parents=True, exist_ok=True)
    side = math.ceil(math.sqrt(n))
    spacing = 1.0
    half = spacing * side / 2 + 5
    # launch grid south of the central column, centred in x
    drones = {f"cf{k}": {"type": "cf", "start": [(k % side - (side - 1) / 2) * spacing, -2.0 - (k // side) * spacing, 0]}
              for k in range(n)}
    (folder / "fleet.yaml").write_text(yaml.safe_dump({
        "name": f"bench_{n}", "types": {"cf": {"platform": "crazyflie_2.1", "role": "shell"}}, "drones": drones}))
    (folder / "world.yaml").write_text(yaml.safe_dump({
        "name": "open_hall", "bounds": {"min": [-half, -half, 0], "max": [half, half, 12]},
        "obstacles": [{"name": "column", "type": "cylinder", "center": [0, 0], "radius": 0.5, "height": 12}]}))
    radius = max(2.0, spacing * math.sqrt(n / (4 * math.pi)) * 1.2)
    mission = {
        "name": f"bench_{n}", "fleet": "fleet.yaml", "world": "world.yaml", "duration": duration,
        "control_rate": control_rate,
        "phases": {"takeoff": {"altitude": 1.0, "duration": 3}, "land": {"at": "home", "speed": 0.6,
                                                                    "duration": math.ceil(6 * radius + 12)}},
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
