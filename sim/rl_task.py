"""The reach-the-goal task both RL environments step: N drones of one platform in a box arena,
each with its own goal, on the batched simulator (PyBullet rigid bodies or the point-mass model).

Per control step (physics_rate / control_rate physics steps): actions in [-1, 1]^3 become
velocity setpoints (swarm_ros.core.observation.to_velocity), physics advances, then each drone gets
its local observation (own goal and state, k nearest neighbours within `sensing` metres, found
with a KD-tree) and a reward: -0.1 x distance to goal, -1 per step in contact with another drone
(centres closer than the two body radii), -0.01 x |action|^2. A drone that leaves the arena or
touches the ground is terminated; every drone is truncated after `max_steps`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from swarm_ros.core.observation import action_scale, local_observation, to_velocity
from swarm_ros.core.platforms import PLATFORMS, find_platform

from .pointmass import PointMassSwarm

BACKENDS = ("pybullet", "pointmass")


@dataclass(frozen=True)
class TaskSpec:
    n: int = 4
    platform: str = "crazyflie_2.1"
    k: int = 3                  # neighbours in each observation
    sensing: float = 3.0        # m, neighbours further away are not seen
    arena: float = 4.0          # m, half-width of the square arena (x, y)
    ceiling: float = 3.0        # m
    backend: str = "pybullet"
    control_rate: float = 48.0
    physics_rate: float = 240.0
    max_steps: int = 240        # 5 s at 48 Hz
    min_spacing: float = 0.5    # m between start points (and between goals)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r}: one of {', '.join(BACKENDS)}")
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform {self.platform!r}: one of {', '.join(PLATFORMS)}")


class _Drone:
    def __init__(self, platform, start):
        spec = find_platform(platform)
        self.platform, self.vehicle, self.airframe, self.start = platform, spec.vehicle, spec.airframe, tuple(start)


class ReachTask:
    def __init__(self, spec: TaskSpec):
        self.spec = spec
        self.vehicle = PLATFORMS[spec.platform]
        self.scale = action_scale([self.vehicle] * spec.n)
        self.substeps = int(round(spec.physics_rate / spec.control_rate))
        self.physics = None
        self.goal = np.zeros((spec.n, 3))
        self.steps = 0

    def _spread(self, rng: np.random.Generator, z_lo: float) -> np.ndarray:
        """n points in the arena at least min_spacing apart (rejection sampling)."""
        s = self.spec
        lo, hi = np.array([-s.arena + 0.5, -s.arena + 0.5, z_lo]), np.array([s.arena - 0.5, s.arena - 0.5, s.ceiling - 0.5])
        pts: list[np.ndarray] = []
        while len(pts) < s.n:
            p = rng.uniform(lo, hi)
            if all(np.linalg.norm(p - q) >= s.min_spacing for q in pts):
                pts.append(p)
        return np.array(pts)

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        s = self.spec
        starts = self._spread(rng, 0.5)
        self.goal = self._spread(rng, 0.5)
        if s.backend == "pointmass":
            self.physics = PointMassSwarm([self.vehicle] * s.n, starts)
        elif self.physics is None:
            from .rigidbody import RigidBodySwarm
            self.physics = RigidBodySwarm([_Drone(s.platform, p) for p in starts])
        if s.backend == "pybullet":
            self.physics.reset(starts)
        self.steps = 0
        return self.observe()

    def observe(self) -> np.ndarray:
        s, pos, vel = self.spec, self.physics.position, self.physics.velocity
        if s.k and s.n > 1:
            dist, idx = cKDTree(pos).query(pos, k=min(s.k + 1, s.n), distance_upper_bound=s.sensing)
            dist, idx = dist.reshape(s.n, -1)[:, 1:], idx.reshape(s.n, -1)[:, 1:]    # drop self
            seen = np.isfinite(dist)
            offsets = np.concatenate([[0], np.cumsum(seen.sum(axis=1))])
            nb = idx[seen]
        else:
            offsets, nb = np.zeros(s.n + 1, np.intp), np.zeros(0, np.intp)
        return local_observation(pos, vel, self.goal, offsets, pos[nb], vel[nb], s.k)

    def step(self, action: np.ndarray):
        """(observations, rewards, terminated, truncated) after one control step."""
        s = self.spec
        action = np.clip(np.asarray(action, float).reshape(s.n, 3), -1.0, 1.0)
        self.physics.step(to_velocity(action, self.scale), 1.0 / s.physics_rate, self.substeps)
        self.steps += 1
        pos = self.physics.position
        reward = -0.1 * np.linalg.norm(pos - self.goal, axis=1) - 0.01 * np.sum(action ** 2, axis=1)
        if s.n > 1:
            pairs = cKDTree(pos).query_pairs(2 * self.vehicle.body_radius, output_type="ndarray")
            np.subtract.at(reward, pairs.reshape(-1), 1.0)
        outside = (np.abs(pos[:, :2]) > s.arena).any(axis=1) | (pos[:, 2] > s.ceiling) | (pos[:, 2] < 0.05)
        truncated = np.full(s.n, self.steps >= s.max_steps)
        return self.observe(), reward.astype(np.float64), outside, truncated

    def close(self) -> None:
        if self.physics is not None and hasattr(self.physics, "close"):
            self.physics.close()
