"""Gymnasium environment: one drone flies to a random goal (rl_task.ReachTask with n = 1).

    env = DroneReachEnv(platform="crazyflie_2.1", backend="pybullet")
    obs, info = env.reset(seed=0)     # obs: goal - position (3), velocity (3), float32
    obs, reward, terminated, truncated, info = env.step(action)   # action in [-1, 1]^3

An action is a velocity setpoint in units of the platform's limits (x, y: max_speed; z:
max_climb); the rigid-body backend's flight controller tracks it (sim/inner_loop.py).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from swarm_ros.core.observation import OBS_LIMIT, obs_size
from .rl_task import ReachTask, TaskSpec


class DroneReachEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, platform: str = "crazyflie_2.1", backend: str = "pybullet", max_steps: int = 240, **spec):
        self.task = ReachTask(TaskSpec(n=1, k=0, platform=platform, backend=backend, max_steps=max_steps, **spec))
        self.observation_space = gym.spaces.Box(-OBS_LIMIT, OBS_LIMIT, (obs_size(0),), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs = self.task.reset(self.np_random)
        return obs[0], {"goal": self.task.goal[0].copy()}

    def step(self, action):
        obs, reward, terminated, truncated = self.task.step(np.asarray(action, float)[None])
        info = {"distance": float(np.linalg.norm(obs[0, 0:3]))}
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def close(self):
        self.task.close()
