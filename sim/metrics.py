"""Safety and progress metrics of a run, updated from the same samples that are published.

Per drone: distance flown, minimum centre distance to any other drone, collision onsets
(drone-drone contact when centres are closer than the sum of body radii; drone-obstacle
contact when the obstacle is closer than the body radius) and geofence-violation onsets.
Contacts use a KD-tree over pairs closer than twice the largest radius.

Separation is kept apart per mission phase, because one figure over the whole run reports the
launch pad layout (drones start closer on the ground than they keep in flight): the task phase
(`min_separation`, what a mission's flying is judged by), take-off and landing
(`min_separation_takeoff_landing`) and the pads (`min_separation_pads`, the first sample).
Without phases every sample after the first counts as task. Collisions and geofence
violations count over the whole run.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from . import metrics_jit

NEAR_CELL = 2.0   # m, cell side of the compiled pass: nearest neighbours within it are exact


SEPARATIONS = ("min_separation", "min_separation_takeoff_landing", "min_separation_pads")


class SwarmMetrics:
    def __init__(self, radius: np.ndarray, world, positions: np.ndarray, phases=None):
        """`phases`: the mission's phases (an object with `at(t)` -> "takeoff", "task" or "land")."""
        self.radius = np.asarray(radius, float)
        self.world = world
        self.phases = phases
        n = len(self.radius)
        self.distance = np.zeros(n)
        self.min_separation = np.full(n, np.inf)                  # task phase
        self.min_separation_takeoff_landing = np.full(n, np.inf)
        self.min_separation_pads = np.full(n, np.inf)             # the first sample: on the pads
        self.collisions = np.zeros(n, dtype=int)           # onsets, drone-drone and drone-obstacle
        self.fence_violations = np.zeros(n, dtype=int)     # onsets
        self.collision_events: list[tuple[float, str, int, int]] = []   # (t, kind, i, j or obstacle)
        self._contacts: set[tuple[int, int]] = set()
        self._obstacle_contact = np.zeros((n, world.n_obstacles), dtype=bool)
        self._outside = np.zeros(n, dtype=bool)
        self._last = np.array(positions, float)
        self._pair_list: dict = {}      # the compiled pass's pairs within reach of a few samples
        self.update(0.0, self._last, first=True)

    def update(self, t: float, p: np.ndarray, first: bool = False) -> None:
        outside = found = None
        if len(p) >= metrics_jit.MIN_DRONES and metrics_jit.numba_available() and self._last.flags.c_contiguous:
            reach = 2 * self.radius.max()
            nearest, pairs, outside = metrics_jit.advance(p, self._last, self.distance, not first,
                                                          max(reach, NEAR_CELL), reach, self.world.bounds_min,
                                                          self.world.bounds_max, self._pair_list)
            if nearest is not None:
                found = nearest, pairs
        elif not first:
            self.distance += np.linalg.norm(p - self._last, axis=1)
            self._last = p.copy()
        if found is not None:
            nearest, pairs = found
            far = np.isnan(nearest)
            if far.any():      # no other drone within a cell: the KD-tree for those few
                nearest[far] = cKDTree(p).query(p[far], k=2)[0][:, 1]
        elif len(p) < 2:
            nearest, pairs = None, np.zeros((0, 2), dtype=np.intp)
        else:
            tree = cKDTree(p)   # one tree for both queries
            nearest = tree.query(p, k=2)[0][:, 1]
            pairs = tree.query_pairs(2 * self.radius.max(), output_type="ndarray")
        if nearest is not None:
            if first:
                self.min_separation_pads = nearest.copy()
            else:
                task = self.phases is None or self.phases.at(t) == "task"
                kept = self.min_separation if task else self.min_separation_takeoff_landing
                np.minimum(kept, nearest, out=kept)
        if len(pairs) or self._contacts:     # nobody close now or before (the usual sample): nothing to do
            i, j = pairs[:, 0], pairs[:, 1]
            touching = np.linalg.norm(p[i] - p[j], axis=1) < self.radius[i] + self.radius[j]
            now = set(zip(i[touching].tolist(), j[touching].tolist()))
            for a, b in now - self._contacts:
                self.collisions[[a, b]] += 1
                self.collision_events.append((t, "drone", a, b))
            self._contacts = now
        if self.world.n_obstacles:
            contact = self.world.obstacle_sdf(p, t) < self.radius[:, None]
            for a, o in zip(*np.nonzero(contact & ~self._obstacle_contact)):
                self.collisions[a] += 1
                self.collision_events.append((t, "obstacle", int(a), int(o)))
            self._obstacle_contact = contact
        if outside is None:
            outside = ~self.world.inside_fence(p)
        self.fence_violations += outside & ~self._outside
        self._outside = outside

    @property
    def overall_min_separation(self) -> float:
        """Smallest separation of the task phase (inf: one drone, or no task sample yet)."""
        return float(self.min_separation.min()) if len(self.min_separation) > 1 else float("inf")

    def separations(self) -> dict:
        """The whole run's separation figures by phase (SEPARATIONS), as the summaries report them."""
        return {key: float(getattr(self, key).min()) if len(self.radius) > 1 else float("inf") for key in SEPARATIONS}

    def drone_separations(self, k: int) -> dict:
        """Drone `k`'s separation figures by phase."""
        return {key: float(getattr(self, key)[k]) for key in SEPARATIONS}
