"""The URDF the PyBullet backend loads for one drone, from its airframe figures.

A drone's airframe (inertia, rotors, drag) comes from its platform file (config/platforms/*.yaml,
with the sources of each figure); its mass from the drone's vehicle profile (fleet overrides
included), the inertia scaled with it (same geometry).
"""
from __future__ import annotations

import math

from swarm_ros.core.vehicle import Airframe

__all__ = ["Airframe", "FOOT", "RPM", "urdf"]

RPM = 60.0 / (2.0 * math.pi)    # rpm per rad/s
FOOT = 0.005    # m the collision shape reaches below the origin: resting contact keeps z >= 0


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
