"""Which grid steps belong to which mission phase: the pads, take-off and landing, the task.

Separation and order metrics describe the swarm in flight, so they are taken over the task
phase: over the whole run, the minimum separation is the launch pad layout and polarization
averages in the straight climbs and descents. The live summary (sim/metrics.py) splits the
same way, so both give the same figures. The phase bounds come from the bag's metadata (our
recorder writes them), else from the mission file; they are mission times, which our bags'
header stamps are. Without bounds or stamps every step counts as task, and a note says so.
"""
from __future__ import annotations

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
    try:
        return (float(rec.custom[META + "takeoff_end"]), float(rec.custom[META + "task_end"])), "bag metadata"
    except (KeyError, TypeError, ValueError):
        pass
    if mission is not None:
        return (mission.phases.takeoff_end, mission.phases.task_end), f"mission file {mission.file}"
    return None, "phases unknown (no phase bounds in the bag metadata and no mission file)"


def phase_steps(rec, mission, traj) -> PhaseSteps:
    steps = len(traj.t)
    bounds, source = _bounds(rec, mission)
    if bounds is not None and traj.clock != "header stamps":
        bounds, source = None, "phases unknown (the odometry has no header stamps to place them in mission time)"
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
