"""Area coverage: how much of the geofence floor the swarm has seen, and when.

The floor (the geofence's x-y rectangle) is divided into square cells. A cell is seen once the
horizontal distance from its centre to an airborne drone (higher than AIRBORNE above the
geofence floor) is at most the footprint radius, the radius a downward sensor covers. Coverage
at time t is the fraction of cells seen at or before t. Samples are processed in blocks with a
disc stencil around each drone's cell, so the cost grows with samples x stencil, not with cells.
"""
from __future__ import annotations

import numpy as np

from .defaults import FOOTPRINT

AIRBORNE = 0.2         # m above the geofence floor: lower samples are on the ground (pads) and see nothing
MAX_CELLS = 250_000    # the cell size grows past footprint/4 when the floor would need more cells
BLOCK = 50_000         # samples per block


def coverage(pos: np.ndarray, t: np.ndarray, world, footprint: float = FOOTPRINT) -> dict:
    lo, hi = world.bounds_min, world.bounds_max
    size = hi[:2] - lo[:2]
    cell = max(footprint / 4, float(np.sqrt(size.prod() / MAX_CELLS)))
    nx, ny = (int(c) for c in np.maximum(np.ceil(size / cell), 1))
    first = np.full(nx * ny, np.inf)
    reach = int(np.ceil(footprint / cell)) + 1
    ox, oy = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij")
    ox, oy = ox.ravel(), oy.ravel()
    steps, n, _ = pos.shape
    step, drone = np.nonzero((pos[:, :, 2] > lo[2] + AIRBORNE) & ~np.isnan(pos[:, :, 0]))   # time order
    for s0 in range(0, len(step), BLOCK):
        k, d = step[s0:s0 + BLOCK], drone[s0:s0 + BLOCK]
        xy = pos[k, d, :2]
        ix = np.floor((xy[:, 0] - lo[0]) / cell).astype(int)[:, None] + ox
        iy = np.floor((xy[:, 1] - lo[1]) / cell).astype(int)[:, None] + oy
        cx, cy = lo[0] + (ix + 0.5) * cell, lo[1] + (iy + 0.5) * cell
        seen = ((cx - xy[:, :1]) ** 2 + (cy - xy[:, 1:]) ** 2 <= footprint ** 2) & \
               (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        rows, cols = np.nonzero(seen)                   # rows ascend: earlier samples first
        cells, at = np.unique(ix[rows, cols] * ny + iy[rows, cols], return_index=True)
        first[cells] = np.minimum(first[cells], t[k[rows[at]]])   # cells are unique here
    seen_times = np.sort(first[np.isfinite(first)])
    over_time = np.searchsorted(seen_times, t, side="right") / first.size
    return {"fraction": float(len(seen_times) / first.size), "footprint_radius": footprint, "cell": cell,
            "cells": int(first.size), "airborne_above": AIRBORNE, "over_time": over_time,
            "seen_map": first.reshape(nx, ny)}
