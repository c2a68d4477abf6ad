"""Helpers for tests that talk to nodes over real DDS."""
from __future__ import annotations

import time
from pathlib import Path

import yaml


def write_mission(folder: Path, drones: dict, *, radio: dict, duration: float = 7.0, control_rate: float = 50.0,
                  record: bool = False, view_rate: float = 0.0) -> Path:
    """A small hover mission: every drone takes off and holds 1 m above its pad."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fleet.yaml").write_text(yaml.safe_dump({
        "name": "test_fleet", "types": {"cf": {"platform": "crazyflie_2.1", "role": "hover"}},
        "drones": {name: {"type": "cf", "start": list(start)} for name, start in drones.items()}}))
    (folder / "world.yaml").write_text(yaml.safe_dump({
        "name": "open", "bounds": {"min": [-30, -30, 0], "max": [30, 30, 5]}}))
    (folder / "mission.yaml").write_text(yaml.safe_dump({
        "name": "test_hover", "fleet": "fleet.yaml", "world": "world.yaml", "duration": duration,
        "control_rate": control_rate,
        "phases": {"takeoff": {"altitude": 1.0, "duration": 1.0}, "land": {"duration": 3.5, "speed": 0.5}},
        "roles": {"hover": {"controller": "waypoint", "params": {"waypoints": [[0, 0, 1]], "relative": True}}},
        "radio": radio, "record": {"enabled": record}, "view_rate": view_rate, "sim": {"speed": 0}}))
    return folder / "mission.yaml"


def spin_until(executor, condition, timeout: float) -> bool:
    """Spin in short slices (the EventsExecutor must never spin without a timeout)."""
    import rclpy.task
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        executor.spin_until_future_complete(rclpy.task.Future(), timeout_sec=0.05)
    return condition()
