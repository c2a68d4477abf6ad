"""ENU <-> NED: the project's world frame (x east, y north, z up) and PX4's local frame (x north,
y east, z down). The map swaps x and y and negates z; it is its own inverse. Yaw is measured
from east anticlockwise in ENU and from north clockwise in NED: yaw_ned = pi/2 - yaw_enu.
"""
from __future__ import annotations

import math

import numpy as np


def enu_to_ned(v) -> np.ndarray:
    """(..., 3) ENU vectors (positions, velocities, accelerations) in NED."""
    v = np.asarray(v, float)
    return np.stack([v[..., 1], v[..., 0], -v[..., 2]], axis=-1)


ned_to_enu = enu_to_ned   # the same swap and sign: an involution


def yaw_enu_to_ned(yaw: float) -> float:
    """Heading in NED (north = 0, clockwise) of an ENU yaw (east = 0, anticlockwise), in (-pi, pi]."""
    return math.remainder(math.pi / 2 - yaw, 2 * math.pi)


yaw_ned_to_enu = yaw_enu_to_ned
