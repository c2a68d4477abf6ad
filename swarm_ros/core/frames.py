"""Frames: ENU <-> NED, and body axes -> world axes.

The project's world frame is ENU (x east, y north, z up); PX4's local frame is NED (x north,
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


def body_to_world(q_xyzw, v_body) -> np.ndarray:
    """(..., 3) vectors given in a body frame, expressed in the world frame the body's orientation
    q (..., 4: x, y, z, w; normalised here) is given in: v_world = R(q) v_body.

    gz-sim's OdometryPublisher reports the twist in the body frame; the drone nodes read world axes.
    """
    q = np.asarray(q_xyzw, float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    u, w = q[..., :3], q[..., 3:4]
    v = np.asarray(v_body, float)
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)
