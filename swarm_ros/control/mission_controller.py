"""The controller a drone flies a mission with: take-off, its role's task controller, landing.

Phase boundaries are fixed mission times (see mission.Phases), so every drone switches phase
from its own clock without any coordination message.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .contract import Controller, Observations, clip_norm
from .waypoint import WaypointController, WaypointParams
from . import CONTROLLERS

LANDED_HEIGHT = 0.02   # m: below this a landing drone stops commanding


class LandController(Controller):
    """Descend vertically at `speed` over the point where landing began, then stay down."""

    def __init__(self, speed: float, vehicles, home, gain: float = 1.5):
        super().__init__(None, vehicles, home)
        self.speed = np.minimum(speed, [v.max_descent for v in self.vehicles])
        self.gain = gain
        self.hold = None

    def step_batch(self, obs: Observations) -> np.ndarray:
        if self.hold is None:
            self.hold = obs.position[:, :2].copy()
        v = np.zeros((obs.n, 3))
        v[:, :2] = clip_norm(np.pad(self.gain * (self.hold - obs.position[:, :2]), ((0, 0), (0, 1))),
                             self.max_speed)[:, :2]
        airborne = obs.position[:, 2] > LANDED_HEIGHT
        v[:, 2] = np.where(airborne, -np.minimum(self.speed, np.maximum(obs.position[:, 2], 0.1)), 0.0)
        v[~airborne, :2] = 0.0
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
                cls = CONTROLLERS[role.controller]
                self.tasks.append((idx, cls(role.params, [vehicles[k] for k in idx], home[idx], role.group)))
        self.land = LandController(ph.land_speed, vehicles, home)

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
