"""What a drone senses of its surroundings (obstacles and geofence), batched over drones."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sensing:
    """What drones sense of their surroundings, batched over N drones and M obstacles.

    obstacle_clearance (N, M): signed distance from the drone's centre to each obstacle, inf
    beyond its sensing range; obstacle_normal (N, M, 3): unit vector pointing away from each
    obstacle (zero where not sensed). fence_clearance (N, 6): distance inside each geofence wall
    (-x, +x, -y, +y, floor, ceiling), negative outside; fence_normal (6, 3): inward normals.
    """
    obstacle_clearance: np.ndarray
    obstacle_normal: np.ndarray
    fence_clearance: np.ndarray

    fence_normal = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)

    def rows(self, index) -> "Sensing":
        return Sensing(self.obstacle_clearance[index], self.obstacle_normal[index], self.fence_clearance[index])
