"""Random-waypoint patrols over a round mission area: the motion of a swarm, vectorized.

Each drone flies straight at its cruise speed to a waypoint drawn uniformly in a vertical
cylinder (radius ``radius`` around ``centre``, heights ``z_min..z_max``), then draws the next
one. A round area has no corners where a drone would sit cut off from the swarm for minutes,
which would measure the mobility model rather than the protocol. The network simulator only
needs positions at its mobility steps.
"""
from __future__ import annotations

import numpy as np


class RandomWaypoint:
    def __init__(self, n: int, centre, radius: float, z_range, speeds, rng: np.random.Generator):
        self.centre, self.radius = np.asarray(centre, float)[:2], float(radius)
        self.z = tuple(map(float, z_range))
        self.rng = rng
        self.speed = np.broadcast_to(np.asarray(speeds, float), (n,)).copy()
        self.position = self._draw(n)
        self.goal = self._draw(n)

    def _draw(self, k: int) -> np.ndarray:
        r = self.radius * np.sqrt(self.rng.random(k))
        a = 2 * np.pi * self.rng.random(k)
        z = self.z[0] + (self.z[1] - self.z[0]) * self.rng.random(k)
        return np.column_stack([self.centre[0] + r * np.cos(a), self.centre[1] + r * np.sin(a), z])

    def step(self, dt: float) -> np.ndarray:
        """Advance dt seconds; drones that reach their waypoint stop there and get a new one."""
        d = self.goal - self.position
        dist = np.linalg.norm(d, axis=1)
        move = np.minimum(dist, self.speed * dt)
        self.position += d * (move / np.maximum(dist, 1e-12))[:, None]
        arrived = dist <= self.speed * dt
        if arrived.any():
            self.goal[arrived] = self._draw(int(arrived.sum()))
        return self.position
