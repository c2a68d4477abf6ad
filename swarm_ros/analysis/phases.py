"""Where the mission's take-off, task and landing phases lie in an analysed run.

Separation and order metrics describe the swarm in flight, so they are taken over the task
phase: over the whole run, the minimum separation is the launch pad layout and polarization
averages in the straight climbs and descents. The live summary (sim/metrics.py) splits the same
way, so both give the same figures. Phase bounds are fixed mission times (mission.Phases): the
recorder writes them into the bag's metadata, else the mission file gives them. Our odometry
header stamps are mission time, so a bound at mission time b lies at b - t0 on the analysis grid;
a bag stamped only with log (wall) times cannot be placed and every step then counts as task.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .bag import META


@dataclass
class PhaseSteps:
    task: np.ndarray              # (T,) bool
    takeoff_landing: np.ndarray   # (T,) bool, the pads step excluded
    pads: int | None              # the step at mission time 0 (drones on their pads), if on the grid
    bounds: tuple | None          # (take-off end, task end) in mission time, s
    source: str                   # where the bounds came from, or why there are none


def _bounds(rec, mission) -> tuple[tuple | None, str]:
    """(take-off end, task end) in mission time and where they came from, or (None, why not)."""
    try:
        known = json.loads(rec.custom.get(META + "phases", "null"))
        return (float(known["takeoff_end"]), float(known["task_end"])), "bag metadata"
    except (ValueError, TypeError, KeyError):
        pass
    if mission is not None:
        return (mission.phases.takeoff_end, mission.phases.task_end), f"mission file {mission.file}"
    return None, "phases unknown (no phase bounds in the bag metadata and no mission file)"


def _placed(rec, mission, traj) -> tuple[tuple | None, str]:
    bounds, source = _bounds(rec, mission)
    if bounds is not None and traj.clock != "header stamps":
        return None, "phases unknown (the odometry has no header stamps to place them in mission time)"
    return bounds, source


def phase_steps(rec, mission, traj) -> PhaseSteps:
    """Which grid steps are task, take-off/landing and pads; all task when the phases are unknown."""
    steps = len(traj.t)
    bounds, source = _placed(rec, mission, traj)
    if bounds is None:
        return PhaseSteps(np.ones(steps, bool), np.zeros(steps, bool), None, None, source)
    # mission time of each step, to the microsecond: the grid's float steps must not move a
    # sample that lies exactly on a phase bound to the other side of it
    t = np.round(traj.t0_ns * 1e-9 + traj.t, 6)
    task = (t >= bounds[0]) & (t < bounds[1])
    pads = 0 if steps and t[0] == 0.0 else None
    takeoff_landing = ~task
    if pads is not None:
        takeoff_landing[pads] = False
    return PhaseSteps(task, takeoff_landing, pads, bounds, source)


def phase_times(rec, mission, traj) -> dict:
    """{"available", "takeoff_end", "task_end", "source"} in grid seconds (for plots), or why not."""
    bounds, source = _placed(rec, mission, traj)
    if bounds is None:
        return {"available": False, "reason": source}
    offset = traj.t0_ns * 1e-9
    return {"available": True, "takeoff_end": bounds[0] - offset, "task_end": bounds[1] - offset, "source": source}
