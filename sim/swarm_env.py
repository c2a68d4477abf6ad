"""PettingZoo ParallelEnv: N drones, each flying to its own goal on local observations.

    env = SwarmReachEnv(n=8, k=3, backend="pybullet")
    obs, infos = env.reset(seed=0)    # {"drone_0": (6 + 6k,) float32, ...}
    obs, rewards, terminations, truncations, infos = env.step({a: action for a in env.agents})

Each agent sees its goal, its own velocity and its k nearest neighbours within the sensing
radius (swarm_ros.core.observation.local_observation: the layout a drone builds from its radio's
beacons, so a policy trained here flies missions through PolicyController). All drones step in
one batched simulator (rl_task.ReachTask). Agents that leave the arena or touch the ground are
terminated and removed from `agents`; their drones are then commanded to hover.
"""
from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from swarm_ros.core.observation import OBS_LIMIT, obs_size
from .rl_task import ReachTask, TaskSpec


class SwarmReachEnv(ParallelEnv):
    metadata = {"name": "swarm_reach_v0", "render_modes": []}

    def __init__(self, n: int = 4, k: int = 3, **spec):
        self.task = ReachTask(TaskSpec(n=n, k=k, **spec))
        self.possible_agents = [f"drone_{i}" for i in range(n)]
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._rng = np.random.default_rng()

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return gym.spaces.Box(-OBS_LIMIT, OBS_LIMIT, (obs_size(self.task.spec.k),), np.float32)

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return gym.spaces.Box(-1.0, 1.0, (3,), np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        obs = self.task.reset(self._rng)
        self.agents = list(self.possible_agents)
        return ({a: obs[i] for i, a in enumerate(self.agents)},
                {a: {"goal": self.task.goal[i].copy()} for i, a in enumerate(self.agents)})

    def step(self, actions):
        act = np.zeros((self.task.spec.n, 3))
        for a, u in actions.items():
            if a in self._index and a in self.agents:
                act[self._index[a]] = u
        obs, reward, terminated, truncated = self.task.step(act)
        live = self.agents
        out = ({a: obs[self._index[a]] for a in live}, {a: float(reward[self._index[a]]) for a in live},
               {a: bool(terminated[self._index[a]]) for a in live}, {a: bool(truncated[self._index[a]]) for a in live},
               {a: {} for a in live})
        self.agents = [a for a in live if not (terminated[self._index[a]] or truncated[self._index[a]])]
        return out

    def state(self):
        return np.concatenate([self.task.physics.position, self.task.physics.velocity], axis=1).astype(np.float32)

    def close(self):
        self.task.close()
