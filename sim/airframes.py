"""Rigid-body figures of each platform (inertia, rotors) and the URDF the PyBullet backend loads.

The mass comes from the drone's vehicle profile (platforms.py, fleet overrides included); the
inertia is scaled with it (same geometry). Everything else is per platform, with its source:

Crazyflie 2.1
  inertia      Ixx 1.395e-5, Iyy 1.436e-5, Izz 2.173e-5 kg m^2 at 27 g: J. Foerster, "System
               identification of the Crazyflie 2.0 nano quadrocopter", ETH Zurich, 2015.
  arm          46 mm centre to motor (Bitcraze: 92 mm motor-to-motor diagonal), X layout.
  kf, km       3.16e-10 N/rpm^2 and 7.94e-12 N m/rpm^2 (gym-pybullet-drones cf2x.urdf, from the
               same identification), here per (rad/s)^2: x (60 / 2 pi)^2.
  max rotor    from its thrust-to-weight 2.25 (same source): kf w^2 = 2.25 m g / 4.
  drag         rotor drag 9.1785e-7 (xy), 10.311e-7 (z) N per rpm per m/s (cf2x.urdf), per rad/s.
  propeller    45 mm diameter (radius 22.5 mm), frame height about 30 mm.
Holybro X500 V2 (PX4's gz-sim model `x500`, PX4-gazebo-models x500_base / x500 model.sdf)
  inertia      Ixx = Iyy 0.02167, Izz 0.04 kg m^2 at its 2.0 kg model mass.
  arm          rotors at (+-0.174, +-0.174) m: 0.246 m, X layout.
  kf, km       motorConstant 8.54858e-6 N/(rad/s)^2, momentConstant 0.016 m (km = 0.016 kf).
  max rotor    maxRotVelocity 1000 rad/s.
  drag         rotorDragCoefficient 8.06428e-5 N per rad/s per m/s (xy; z taken equal, a choice).
  propeller    10 inch (radius 0.127 m), frame height about 0.25 m with legs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RPM = 60.0 / (2.0 * math.pi)    # rpm per rad/s
FOOT = 0.005    # m the collision shape reaches below the origin: resting contact keeps z >= 0


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
    # Flight-controller tuning (inner_loop.py): attitude gain (rate setpoint per rad of error, 1/s),
    # rate gain (1/s; 4 x attitude: critically damped), body-rate limit (rad/s).
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


_CF_KF = 3.16e-10 * RPM ** 2
AIRFRAMES: dict[str, Airframe] = {
    "crazyflie_2.1": Airframe(
        ref_mass=0.027, inertia=(1.395e-5, 1.436e-5, 2.173e-5), arm=0.046,
        kf=_CF_KF, km=7.94e-12 * RPM ** 2,
        max_rotor_speed=math.sqrt(2.25 * 0.027 * 9.81 / 4.0 / _CF_KF),
        prop_radius=0.0225, drag_xy=9.1785e-7 * RPM, drag_z=10.311e-7 * RPM, height=0.03),
    "px4_x500": Airframe(
        ref_mass=2.0, inertia=(0.02167, 0.02167, 0.04), arm=0.246,
        kf=8.54858e-6, km=0.016 * 8.54858e-6, max_rotor_speed=1000.0,
        prop_radius=0.127, drag_xy=8.06428e-5, drag_z=8.06428e-5, height=0.25,
        k_att=5.0, k_rate=20.0, max_rate=4.0),
}


def urdf(name: str, frame: Airframe, mass: float, body_radius: float) -> str:
    """A one-link URDF: the real mass and inertia at the origin (the centre of mass), and a flat
    cylinder of the profile's body radius as collision shape, its bottom FOOT below the origin,
    so a landed drone reports a height of a few mm, as the point-mass backend reports 0."""
    ixx, iyy, izz = frame.inertia_at(mass)
    h = frame.height
    mid = h / 2 - FOOT
    shape = f'<cylinder radius="{body_radius:.6g}" length="{h:.6g}"/>'
    return f"""<?xml version="1.0"?>
<robot name="{name}">
  <link name="base_link">
    <inertial>
      <origin xyz="0 0 0"/>
      <mass value="{mass:.9g}"/>
      <inertia ixx="{ixx:.9g}" ixy="0" ixz="0" iyy="{iyy:.9g}" iyz="0" izz="{izz:.9g}"/>
    </inertial>
    <visual><origin xyz="0 0 {mid:.6g}"/><geometry>{shape}</geometry></visual>
    <collision><origin xyz="0 0 {mid:.6g}"/><geometry>{shape}</geometry></collision>
  </link>
</robot>
"""
