"""A physics backend plugin: the point-mass model in a steady wind with linear air drag.

Each drone's autopilot tracks the commanded velocity as swarm_ros's point mass does (first-order
response, speed and acceleration limits); on top, the air pulls it towards the wind velocity at
`drag` per second: dv/dt += drag * (wind - v). Below SHELTER metres (on the ground, and landing
into the still air at the surface) there is no wind, so a landed drone stays put. Options, in the
mission's `sim` section:

    sim: {backend: windy_pointmass, wind: [1.5, 0, 0], drag: 0.4}
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.pointmass import PointMassSwarm
from swarm_ros.core.configfile import Number, Section, Vector
from swarm_ros.physics import PhysicsBackend, PhysicsSwarm, SimContext

SHELTER = 0.05     # m above the ground without wind


class WindyPointMassSwarm(PointMassSwarm):
    def __init__(self, vehicles, positions, wind, drag: float):
        super().__init__(vehicles, positions)
        self.wind, self.drag = np.asarray(wind, float), drag

    def step(self, v_cmd: np.ndarray, dt: float, substeps: int = 1) -> None:
        for _ in range(substeps):
            super().step(v_cmd, dt, 1)
            airborne = self.position[:, 2] > SHELTER
            self.velocity[airborne] += self.drag * dt * (self.wind - self.velocity[airborne])


@dataclass(frozen=True)
class WindyPointMass(PhysicsBackend):
    wind: tuple[float, float, float] = (0.0, 0.0, 0.0)     # m/s, world frame (ENU)
    drag: float = 0.0                                     # 1/s
    options = ("wind", "drag")

    @classmethod
    def read(cls, sim: Section, ctx: SimContext) -> "WindyPointMass":
        wind = sim.get("wind", Vector(3, Number(-30, 30)), (0.0, 0.0, 0.0))
        drag = sim.get("drag", Number(0, 5), 0.0)
        if drag * 1.0 / ctx.physics_rate > 0.5:
            raise sim.error("drag", f"got {drag:g} at physics_rate {ctx.physics_rate:g}",
                            "drag / physics_rate at most 0.5 (explicit Euler stays stable)")
        return cls(tuple(wind), drag)

    def create(self, mission) -> PhysicsSwarm:
        drones = mission.fleet.drones
        return WindyPointMassSwarm([d.vehicle for d in drones], [d.start for d in drones], self.wind, self.drag)
