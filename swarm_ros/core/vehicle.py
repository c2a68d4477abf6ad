"""The figures of one vehicle as plain data: limits (VehicleParams) and rigid-body airframe.

Both are read from platform files (config/platforms/*.yaml, swarm_ros.core.platforms); they live in
core because the physics backends (sim/) and the controllers use them alike.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class VehicleParams:
    """Limits and figures of one vehicle, SI units."""
    mass: float              # kg, take-off mass
    body_radius: float       # m, radius of the sphere that encloses frame and propellers
    max_speed: float         # m/s, horizontal speed limit
    max_climb: float         # m/s, upward speed limit
    max_descent: float       # m/s, downward speed limit
    max_accel: float         # m/s^2, acceleration limit (norm)
    response_time: float     # s, time constant of the first-order velocity response (model)
    radio_range: float       # m, range of the swarm radio link
    sensing_range: float     # m, range of the obstacle sensor

    def with_overrides(self, **values: float) -> "VehicleParams":
        return replace(self, **values)


@dataclass(frozen=True)
class Airframe:
    """Quadrotor in X layout; rotor 0 front-left then counter-clockwise seen from above."""
    ref_mass: float                 # kg, mass the inertia figures were measured at
    inertia: tuple[float, float, float]   # kg m^2 (Ixx, Iyy, Izz) at ref_mass
    arm: float                      # m, centre to rotor axis
    kf: float                       # N / (rad/s)^2, thrust per rotor = kf w^2
    km: float                       # N m / (rad/s)^2, reaction torque per rotor = km w^2
    max_rotor_speed: float          # rad/s
    prop_radius: float              # m
    drag_xy: float                  # N / (rad/s) / (m/s): rotor drag = -drag * sum(w) * v_body
    drag_z: float
    height: float                   # m, frame height (collision shape, SDF model)
    # Flight-controller tuning (sim/inner_loop.py): attitude gain (rate setpoint per rad of error,
    # 1/s), rate gain (1/s; 4 x attitude: critically damped), body-rate limit (rad/s).
    k_att: float = 10.0
    k_rate: float = 40.0
    max_rate: float = 10.0

    def inertia_at(self, mass: float) -> np.ndarray:
        return np.array(self.inertia) * (mass / self.ref_mass)

    def rotor_xy(self) -> np.ndarray:
        """(4, 2) rotor positions in the body frame (x forward, y left)."""
        a = np.radians([45.0, 135.0, 225.0, 315.0])
        return self.arm * np.stack([np.cos(a), np.sin(a)], axis=1)

    @property
    def yaw_sign(self) -> np.ndarray:
        """Sign of each rotor's reaction torque about body z (diagonal rotors turn alike)."""
        return np.array([1.0, -1.0, 1.0, -1.0])

    def allocation(self) -> np.ndarray:
        """(4, 4) matrix from rotor thrusts to [collective thrust, roll, pitch, yaw torque]."""
        xy = self.rotor_xy()
        return np.stack([np.ones(4), xy[:, 1], -xy[:, 0], self.yaw_sign * self.km / self.kf])

    def max_thrust(self) -> float:
        """N, all four rotors at full speed."""
        return 4.0 * self.kf * self.max_rotor_speed ** 2
