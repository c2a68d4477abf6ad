"""Vectorized point-mass multirotor: velocity commands, first-order response, per-vehicle limits.

Each drone tracks its commanded velocity with a first-order lag (time constant
`response_time`); the command is clipped to the vehicle's horizontal speed and climb/descent
limits and the resulting acceleration to `max_accel`. The ground (z = 0) is solid. All
arrays have shape (N, 3); one step costs a fixed number of numpy operations, whatever N.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from swarm_ros.core.vehicle import VehicleParams

from . import pointmass_jit


def clip_velocity(v_cmd, max_speed, max_climb, max_descent, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Velocity commands (N, 3) within each vehicle's horizontal speed and climb/descent limits,
    written into `out` (tmp: scratch of shape (N,))."""
    out[:] = v_cmd
    np.hypot(out[:, 0], out[:, 1], out=tmp)
    scale = np.minimum(1.0, max_speed / np.maximum(tmp, 1e-12))
    out[:, 0] *= scale
    out[:, 1] *= scale
    np.clip(out[:, 2], -max_descent, max_climb, out=out[:, 2])
    return out


class PointMassSwarm:
    def __init__(self, vehicles: Sequence[VehicleParams], positions, velocities=None):
        self.n = len(vehicles)
        col = lambda name: np.array([getattr(v, name) for v in vehicles], float)  # noqa: E731
        self.max_speed = col("max_speed")
        self.max_climb = col("max_climb")
        self.max_descent = col("max_descent")
        self.max_accel = col("max_accel")
        self.inv_tau = 1.0 / col("response_time")
        self.position = np.array(positions, float).reshape(self.n, 3)
        self.velocity = np.zeros((self.n, 3)) if velocities is None else np.array(velocities, float)
        self._cmd = np.zeros((self.n, 3))
        self._acc = np.zeros((self.n, 3))
        self._tmp = np.zeros(self.n)

    def clip_command(self, v_cmd: np.ndarray) -> np.ndarray:
        """The command each vehicle will actually track (speed limits applied)."""
        return clip_velocity(v_cmd, self.max_speed, self.max_climb, self.max_descent, self._cmd, self._tmp)

    def step(self, v_cmd: np.ndarray, dt: float, substeps: int = 1) -> None:
        """Advance `substeps` steps of `dt` holding the velocity command."""
        if pointmass_jit.usable(self.n):
            pointmass_jit.step(np.ascontiguousarray(v_cmd, float), self.position, self.velocity, self._cmd,
                               self.max_speed, self.max_climb, self.max_descent, self.max_accel, self.inv_tau,
                               float(dt), int(substeps))
            return
        cmd = self.clip_command(v_cmd)
        a, p, v = self._acc, self.position, self.velocity
        for _ in range(substeps):
            np.subtract(cmd, v, out=a)
            a *= self.inv_tau[:, None]
            np.sqrt(np.einsum("ij,ij->i", a, a), out=self._tmp)
            a *= np.minimum(1.0, self.max_accel / np.maximum(self._tmp, 1e-12))[:, None]
            a *= dt
            v += a
            p += v * dt
            below = p[:, 2] < 0.0
            if below.any():
                p[below, 2] = 0.0
                v[below, 2] = np.maximum(v[below, 2], 0.0)
