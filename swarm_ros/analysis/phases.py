"""Where the mission's take-off, task and landing phases lie on the analysis time grid.

Phase boundaries are fixed mission times (mission.Phases), so one pair of numbers places them:
from the bag's metadata (the recorder writes them) or else from the mission file. Our odometry
header stamps are mission time, so a boundary at mission time b lies at b - t0 on the grid; a
bag stamped only with log (wall) times cannot be placed and the phases are then unknown.
"""
from __future__ import annotations

import json

from .bag import META


def phase_times(rec, mission, traj) -> dict:
    """{"available", "takeoff_end", "task_end", "source"} in grid seconds, or why not."""
    try:
        known = json.loads(rec.custom.get(META + "phases", "null"))
        bounds = (float(known["takeoff_end"]), float(known["task_end"])), "bag metadata"
    except (ValueError, TypeError, KeyError):
        bounds = None
    if bounds is None and mission is not None:
        bounds = (mission.phases.takeoff_end, mission.phases.task_end), f"mission file {mission.file}"
    if bounds is None:
        return {"available": False, "reason": "neither the bag metadata nor a mission file gives the phase times"}
    if traj.clock != "header stamps":
        return {"available": False, "reason": "odometry has no mission-time stamps (log times used)"}
    (takeoff_end, task_end), source = bounds
    offset = traj.t0_ns * 1e-9
    return {"available": True, "takeoff_end": takeoff_end - offset, "task_end": task_end - offset,
            "source": source}
