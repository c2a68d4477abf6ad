"""Learned or scripted policies behind the controller contract, and the local observation they see.

A policy maps local observations (N, OBS) to actions (N, 3) in [-1, 1]; an action times the
vehicle's speed limits is a velocity setpoint. The local observation is built by one function,
`local_observation`, from a drone's own state, its goal and the k nearest neighbours it knows
of: in the RL environments (sim/gym_env.py, sim/swarm_env.py) from the simulator, on a drone
from the beacons its radio received (contract.Neighbours). So a policy trained in the
environments flies missions unchanged through `PolicyController`.

The row layout is in swarm_ros/core/observation.py.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from swarm_ros.core.observation import action_scale, local_observation, to_velocity
from swarm_ros.core.platforms import VehicleParams
from .contract import Controller, Observations

def goal_seeking_policy(k: int, gain: float = 1.0, keep_out: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """A scripted policy on local observations: head for the goal, push away from neighbours
    closer than `keep_out` metres. A baseline, and the stand-in for a trained network in tests."""
    def policy(obs: np.ndarray) -> np.ndarray:
        act = gain * obs[:, 0:3].astype(float)
        for j in range(k):
            rel = obs[:, 6 + 6 * j: 9 + 6 * j].astype(float)
            d = np.linalg.norm(rel, axis=1, keepdims=True)
            near = (d > 1e-9) & (d < keep_out)
            act -= np.where(near, 2.0 * (keep_out - d) * rel / np.maximum(d, 1e-9), 0.0)
        return np.clip(act, -1.0, 1.0)
    return policy


class PolicyController(Controller):
    """Flies a policy: contract observations (own state + received beacons) -> local observation
    -> policy -> action -> velocity setpoint within the vehicle limits."""

    def __init__(self, policy: Callable[[np.ndarray], np.ndarray], goals: np.ndarray, k: int,
                 vehicles: Sequence[VehicleParams], home: np.ndarray, group: int = 0, sensing: float = np.inf):
        super().__init__(None, vehicles, home, group)
        self.policy, self.k, self.sensing = policy, k, sensing
        self.goals = np.asarray(goals, float).reshape(len(self.vehicles), 3)
        self.scale = action_scale(self.vehicles)

    def observe(self, obs: Observations) -> np.ndarray:
        """Local observations; neighbours further than `sensing` (what the policy saw in training,
        rl_task.TaskSpec.sensing) are left out, as the environments leave them out."""
        nb = obs.neighbours
        out = local_observation(obs.position, obs.velocity, self.goals, nb.offsets, nb.position, nb.velocity, self.k)
        for j in range(self.k):            # nearest first: a slot beyond range means no neighbour there
            far = np.linalg.norm(out[:, 6 + 6 * j: 9 + 6 * j], axis=1) >= self.sensing
            out[far, 6 + 6 * j: 12 + 6 * j] = 0.0
        return out

    def step_batch(self, obs: Observations) -> np.ndarray:
        return to_velocity(self.policy(self.observe(obs)), self.scale)
