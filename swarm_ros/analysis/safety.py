"""Separation, near misses, collisions and geofence violations over a gridded run.

Definitions are those of the live run metrics (sim/metrics.py), so a bag of our simulator gives
the numbers its summary printed: two drones are in contact while their centres are closer than
the sum of their body radii, a drone touches an obstacle while the obstacle's signed distance is
below its body radius, and a collision or geofence violation is counted at its onset (a contact
that lasts many steps is one event). A near miss is an episode (consecutive steps) in which a
pair came closer than r_i + r_j + margin without touching.

Neighbour queries use one KD-tree per block of time steps instead of one per step: each point
gets its step index, scaled past the swarm's extent, as a fourth coordinate, so points of
different steps are never neighbours and one query answers a few thousand steps at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

BLOCK_POINTS = 200_000     # points per KD-tree; bounds memory per block, any value gives the same answer


@dataclass
class Separation:
    per_step: np.ndarray     # (T,) smallest centre distance between any two drones present (NaN: < 2)
    nearest: np.ndarray      # (T, N) each drone's nearest-neighbour distance (inf: alone)
    close: dict              # records of pairs closer than the query radius: step, a, b, d (arrays)


def separation(pos: np.ndarray, radius_for_pairs: float) -> Separation:
    """Nearest neighbour of every drone at every step, and every pair closer than the radius."""
    steps, n, _ = pos.shape
    nearest = np.full((steps, n), np.inf)
    present = ~np.isnan(pos[:, :, 0])
    block = max(1, BLOCK_POINTS // max(n, 1))
    recs = {k: [] for k in ("step", "a", "b", "d")}
    for s0 in range(0, steps, block):
        sl = slice(s0, min(steps, s0 + block))
        k_loc, drone = np.nonzero(present[sl])
        if len(k_loc) < 2:
            continue
        pts = pos[sl][k_loc, drone]
        extent = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0)))
        gap = 2.0 * max(extent, radius_for_pairs) + 1.0      # > any same-step distance
        tree = cKDTree(np.column_stack([pts, k_loc * gap]))
        d, _ = tree.query(tree.data, k=2)
        d1 = np.where(d[:, 1] < gap, d[:, 1], np.inf)          # nearest point was another step: alone
        nearest[s0 + k_loc, drone] = d1
        if radius_for_pairs > 0:
            pairs = tree.query_pairs(radius_for_pairs, output_type="ndarray")
            i, j = pairs[:, 0], pairs[:, 1]
            a, b = np.minimum(drone[i], drone[j]), np.maximum(drone[i], drone[j])
            recs["step"].append(s0 + k_loc[i])
            recs["a"].append(a)
            recs["b"].append(b)
            recs["d"].append(np.linalg.norm(pts[i] - pts[j], axis=1))
    close = {k: np.concatenate(v) if v else np.zeros(0, int if k != "d" else float) for k, v in recs.items()}
    with np.errstate(invalid="ignore"):
        per_step = np.where(present.sum(axis=1) >= 2, nearest.min(axis=1), np.nan)
    return Separation(per_step, nearest, close)


def episodes(step: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort records by (key, step); return the order and, per sorted record, its episode number
    (a new episode starts where the key changes or a step is skipped)."""
    order = np.lexsort((step, key))
    s, k = step[order], key[order]
    new = np.ones(len(s), bool)
    new[1:] = (k[1:] != k[:-1]) | (s[1:] != s[:-1] + 1)
    return order, np.cumsum(new) - 1


def pair_events(sep: Separation, radius: np.ndarray | None, margin: float, t: np.ndarray, names: list) -> dict:
    """Drone-drone collisions (onsets) and near-miss episodes from the close-pair records."""
    n = len(names)
    c = sep.close
    r = radius if radius is not None else np.zeros(n)
    contact = r[c["a"]] + r[c["b"]]
    near = c["d"] < contact + margin
    touching = (c["d"] < contact) if radius is not None else np.zeros(len(c["d"]), bool)
    out = {"collisions_per_drone": np.zeros(n, int), "collision_events": [], "near_miss_events": []}
    sel = np.nonzero(touching)[0]
    if len(sel):
        order, ep = episodes(c["step"][sel], c["a"][sel] * n + c["b"][sel])
        first = sel[order][np.r_[0, np.nonzero(np.diff(ep))[0] + 1]]
        for k in first[np.argsort(c["step"][first], kind="stable")]:
            a, b = int(c["a"][k]), int(c["b"][k])
            out["collisions_per_drone"][[a, b]] += 1
            out["collision_events"].append({"t": float(t[c["step"][k]]), "kind": "drone",
                                            "drones": [names[a], names[b]], "separation": float(c["d"][k])})
    sel = np.nonzero(near)[0]
    if len(sel):
        order, ep = episodes(c["step"][sel], c["a"][sel] * n + c["b"][sel])
        rows = sel[order]
        starts = np.r_[0, np.nonzero(np.diff(ep))[0] + 1]
        touched = np.maximum.reduceat(touching[rows].astype(int), starts)
        dmin = np.minimum.reduceat(c["d"][rows], starts)
        for e, s0 in enumerate(starts):
            if touched[e]:
                continue
            stop = starts[e + 1] if e + 1 < len(starts) else len(rows)
            k = rows[s0 + int(np.argmin(c["d"][rows[s0:stop]]))]
            a, b = int(c["a"][k]), int(c["b"][k])
            out["near_miss_events"].append({"t": float(t[c["step"][k]]), "drones": [names[a], names[b]],
                                            "separation": float(dmin[e]), "start": float(t[c["step"][rows[s0]]]),
                                            "duration": float(t[c["step"][rows[stop - 1]]] - t[c["step"][rows[s0]]])})
        out["near_miss_events"].sort(key=lambda e: e["t"])
    return out


def onsets(flag: np.ndarray) -> np.ndarray:
    """(T, N) boolean states -> (K, 2) array of (step, drone) where a state switched on (step 0 counts)."""
    prev = np.zeros_like(flag)
    prev[1:] = flag[:-1]
    return np.argwhere(flag & ~prev)


def world_events(pos: np.ndarray, radius: np.ndarray | None, world, t: np.ndarray, names: list) -> dict:
    """Obstacle contacts and geofence violations (onsets), evaluated over all steps at once."""
    steps, n, _ = pos.shape
    present = ~np.isnan(pos[:, :, 0])
    flat = pos.reshape(-1, 3)
    ok = present.reshape(-1)
    outside = np.zeros(steps * n, bool)
    outside[ok] = ~world.inside_fence(flat[ok])
    fence = onsets(outside.reshape(steps, n))
    out = {"fence_per_drone": np.bincount(fence[:, 1], minlength=n),
           "fence_events": [{"t": float(t[s]), "drone": names[d]} for s, d in fence],
           "obstacle_per_drone": np.zeros(n, int), "obstacle_events": []}
    if radius is None or not world.n_obstacles:
        return out
    hit = np.zeros((steps * n, world.n_obstacles), bool)
    rad = np.broadcast_to(radius, (steps, n)).reshape(-1)
    idx = np.nonzero(ok)[0]
    for s0 in range(0, len(idx), BLOCK_POINTS):
        rows = idx[s0:s0 + BLOCK_POINTS]
        hit[rows] = world.obstacle_sdf(flat[rows]) < rad[rows, None]
    per = hit.reshape(steps, n * world.n_obstacles)
    for s, col in onsets(per):
        d, o = divmod(int(col), world.n_obstacles)
        out["obstacle_per_drone"][d] += 1
        out["obstacle_events"].append({"t": float(t[s]), "kind": "obstacle", "drones": [names[d]],
                                       "obstacle": world.obstacle_names[o]})
    return out
