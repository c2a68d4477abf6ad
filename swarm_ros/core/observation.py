"""The local observation a policy sees, and how its actions become velocity setpoints.

Shared by the controller that flies a policy (swarm_ros/control/policy.py) and the RL
environments that train one (sim/), so both build the very same rows.

Layout of one row (all in metres and m/s, ENU, relative to the drone):
  [goal - position (3), velocity (3), k x (neighbour position - position (3), neighbour
   velocity (3)) nearest first; rows of missing neighbours are zeros], clipped to +-OBS_LIMIT.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

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


def action_scale(vehicles: Sequence) -> np.ndarray:
    """(N, 3) velocity per unit action: horizontal speed limit in x and y, climb limit in z."""
    return np.array([(v.max_speed, v.max_speed, v.max_climb) for v in vehicles], float)


def to_velocity(action: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(action, float), -1.0, 1.0) * scale
