"""The controller a drone flies a mission with: take-off, its role's task controller, landing.

Phase boundaries are fixed mission times (see mission.Phases), so every drone switches phase
from its own clock without any coordination message.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from swarm_ros.core.geometry import norm_rows
from .contract import Controller, Observations, clip_norm
from .mpc import MPCTracking
from .safety import SafetyParams, safe_velocity
from .waypoint import WaypointController, WaypointParams

LANDED_HEIGHT = 0.02   # m: below this a landing drone stops commanding
OVER_PAD = 0.25        # m: horizontal distance to its pad at which a drone returning home descends
# Close to the ground drones may pack tighter than in flight: smaller margins while landing.
LANDING_SAFETY = SafetyParams(separation_margin=0.15, obstacle_margin=0.3, fence_margin=0.3)


class LandController(Controller):
    """Land `here` (straight down from where landing began) or at `home` (fly back over the
    start pad at the current height, then descend); descend at `speed`, then stay down.

    The safety layer stays on until touchdown, so drones sidestep instead of landing on one
    another. Landing at home suits dense formations: start pads are known to be free.
    """

    def __init__(self, speed: float, at: str, vehicles, home, gain: float = 1.5):
        super().__init__(LANDING_SAFETY, vehicles, home)
        self.speed = np.minimum(speed, [v.max_descent for v in self.vehicles])
        self.gain, self.at = gain, at
        self.target = self.home[:, :2].copy() if at == "home" else None

    def step_batch(self, obs: Observations) -> np.ndarray:
        if self.target is None:
            self.target = obs.position[:, :2].copy()
        v = np.zeros((obs.n, 3))
        to_pad = self.target - obs.position[:, :2]
        v[:, :2] = clip_norm(np.pad(self.gain * to_pad, ((0, 0), (0, 1))), self.max_speed)[:, :2]
        airborne = obs.position[:, 2] > LANDED_HEIGHT
        over_pad = norm_rows(to_pad) < OVER_PAD if self.at == "home" else np.ones(obs.n, dtype=bool)
        descend = airborne & over_pad
        v[:, 2] = np.where(descend, -np.minimum(self.speed, np.maximum(obs.position[:, 2], 0.1)), 0.0)
        v = safe_velocity(obs, v, self.radius, self.max_speed, self.params)
        v[~airborne] = 0.0
        return v


class MissionController(Controller):
    """Runs the mission's phases for the given drones (one drone in a node, all in a batch)."""

    def __init__(self, mission, drones: Sequence):
        vehicles = [d.vehicle for d in drones]
        home = np.array([d.start for d in drones], float).reshape(len(drones), 3)
        super().__init__(None, vehicles, home)
        ph = mission.phases
        self.phases = ph
        self.groups = np.array([mission.roles[d.role].group for d in drones], dtype=np.intp)
        self.takeoff = WaypointController(
            WaypointParams(waypoints=((0.0, 0.0, ph.takeoff_altitude),), relative=True, speed=ph.takeoff_speed),
            vehicles, home)
        self.tasks = []
        for role in mission.roles.values():
            idx = np.array([k for k, d in enumerate(drones) if d.role == role.name], dtype=np.intp)
            if len(idx):
                task = role.cls(role.params, [vehicles[k] for k in idx], home[idx], role.group)
                if role.tracking == "mpc":
                    task = MPCTracking(task, [vehicles[k] for k in idx])
                self.tasks.append((idx, task))
        self.land = LandController(ph.land_speed, ph.land_at, vehicles, home)

    def messages(self) -> list[tuple[int, np.ndarray]]:
        return [(int(idx[r]), data) for idx, ctrl in self.tasks for r, data in ctrl.messages()]

    def deliver(self, row: int, data: np.ndarray) -> None:
        for idx, ctrl in self.tasks:
            local = np.nonzero(idx == row)[0]
            if len(local):
                ctrl.deliver(int(local[0]), data)

    def step_batch(self, obs: Observations) -> np.ndarray:
        phase = self.phases.at(obs.t)
        if phase == "takeoff":
            return self.takeoff.step_batch(obs)
        if phase == "land":
            return self.land.step_batch(obs)
        out = np.zeros((obs.n, 3))
        for idx, ctrl in self.tasks:
            out[idx] = ctrl.step_batch(obs.rows(idx))
        return out
