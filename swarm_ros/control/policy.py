"""Learned or scripted policies behind the controller contract, and the local observation they see.

A policy maps local observations (N, OBS) to actions (N, 3) in [-1, 1]; an action times the
vehicle's speed limits is a velocity setpoint. The local observation is built by one function,
`local_observation`, from a drone's own state, its goal and the k nearest neighbours it knows
of: in the RL environments (sim/gym_env.py, sim/swarm_env.py) from the simulator, on a drone
from the beacons its radio received (contract.Neighbours). So a policy trained in the
environments flies missions unchanged through `PolicyController`.

Layout of one row (all in metres and m/s, ENU, relative to the drone):
  [goal - position (3), velocity (3), k x (neighbour position - position (3), neighbour
   velocity (3)) nearest first; rows of missing neighbours are zeros], clipped to +-OBS_LIMIT.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from swarm_ros.platforms import VehicleParams
from .contract import Controller, Observations

OBS_LIMIT = 100.0


def obs_size(k: int) -> int:
    return 6 + 6 * k


def local_observation(position: np.ndarray, velocity: np.ndarray, goal: np.ndarray, offsets: np.ndarray,
                      nb_position: np.ndarray, nb_velocity: np.ndarray, k: int) -> np.ndarray:
    """(N, 6 + 6k) float32 rows. Neighbours in CSR form: drone i's are rows offsets[i]:offsets[i+1]
    of nb_position / nb_velocity (any order; the k nearest are kept)."""
    n = len(position)
    out = np.zeros((n, obs_size(k)), np.float32)
    out[:, 0:3] = goal - position
    out[:, 3:6] = velocity
    counts = np.diff(offsets)
    if k and len(nb_position):
        owner = np.repeat(np.arange(n), counts)
        rel = nb_position - position[owner]
        dist = np.linalg.norm(rel, axis=1)
        order = np.lexsort((dist, owner))                       # by owner, then nearest first
        rank = np.arange(len(order)) - offsets[owner[order]]
        keep = order[rank < k]
        slot = (rank[rank < k] * 6 + 6).astype(np.intp)
        rows = owner[keep]
        cols = slot[:, None] + np.arange(6)[None, :]
        out[rows[:, None], cols] = np.concatenate([rel[keep], nb_velocity[keep] - velocity[rows]], axis=1)
    np.clip(out, -OBS_LIMIT, OBS_LIMIT, out=out)
    return out


def action_scale(vehicles: Sequence[VehicleParams]) -> np.ndarray:
    """(N, 3) velocity per unit action: horizontal speed limit in x and y, climb limit in z."""
    return np.array([(v.max_speed, v.max_speed, v.max_climb) for v in vehicles], float)


def to_velocity(action: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(action, float), -1.0, 1.0) * scale


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
