"""Compiled twin (numba) of the formation's spread term, for whole swarms at once.

The spread only involves same-group neighbours closer than `spacing`, a few of the ~100
beacons a drone hears in a large swarm; numpy builds (E, 3) temporaries for all of them. This
loop skips the rest without temporaries and adds the pushes in the same order as numpy's
bincount (formation.py is the reference, and what runs for small groups or without numba;
test/test_controllers.py checks they agree).
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available
from swarm_ros.core.verlet import farthest_move

from . import safety_jit


SKIN = 0.5     # m: a beacon list keeps the same-group beacons within spacing + SKIN of their drone


def spread(obs, normal: np.ndarray, group: int, spacing: float, speed: float) -> np.ndarray:
    """Sum per drone (N, 3) of the tangential pushes away from same-group neighbours.

    Beacons do not move while a memory holds them: its first pass lists, per drone, the
    same-group beacons within spacing + SKIN, and later ticks push from those only while no
    drone moved SKIN / 2 (a Verlet list, as safety_jit's): same pushes, same order."""
    nb = obs.neighbours
    rows, src = safety_jit.beacon_rows(nb)
    pos = np.ascontiguousarray(obs.position, float)
    args = (np.asarray(nb.offsets, np.int64), rows[:, 0:3], src, np.asarray(nb.group, np.int64),
            np.asarray(normal, float), int(group), float(spacing), float(speed))
    lists = vars(nb).setdefault("_spread_lists", {})
    held = lists.get((int(group), float(spacing)))
    if held is not None and len(held[0]) == len(pos):
        ok, out = _spread_listed(pos, held[0], 0.5 * SKIN, held[1], *args)
        if ok:
            return out
    out, cand = _spread_listing(pos, SKIN, *args)
    lists[(int(group), float(spacing))] = (pos.copy(), cand)
    return out


def _push(out, i, pos, nb_pos, b, normal, spacing, speed):
    """Add to out[i] the push of beacon row b when it lies within spacing (reach2 passed)."""
    dx, dy, dz = pos[i, 0] - nb_pos[b, 0], pos[i, 1] - nb_pos[b, 1], pos[i, 2] - nb_pos[b, 2]
    d = np.sqrt(dx * dx + dy * dy + dz * dz)
    if not (d < spacing and d > 1e-9):
        return
    s = speed * (1.0 - d / spacing)
    px, py, pz = dx / d * s, dy / d * s, dz / d * s
    dot = px * normal[i, 0] + py * normal[i, 1] + pz * normal[i, 2]
    out[i, 0] += px - dot * normal[i, 0]
    out[i, 1] += py - dot * normal[i, 1]
    out[i, 2] += pz - dot * normal[i, 2]


def _spread_listing_impl(pos, skin, offsets, nb_pos, src, nb_group, normal, group, spacing, speed):
    """The full pass, and the same-group beacons within reach + skin as CSR runs per drone."""
    n = len(offsets) - 1
    out = np.zeros((n, 3))
    reach = spacing * (1.0 + 1e-6) + 1e-9      # beyond: out of reach whatever the rounding
    reach2 = reach * reach
    wide2 = (reach + skin) * (reach + skin)
    starts = np.empty(n + 1, np.int64)
    cand = np.empty(len(src), np.int64)
    m = 0
    for i in range(n):
        starts[i] = m
        for k in range(offsets[i], offsets[i + 1]):
            if nb_group[k] != group:
                continue
            b = src[k]
            dx, dy, dz = pos[i, 0] - nb_pos[b, 0], pos[i, 1] - nb_pos[b, 1], pos[i, 2] - nb_pos[b, 2]
            d2 = dx * dx + dy * dy + dz * dz
            if d2 > wide2:
                continue
            cand[m] = k
            m += 1
            if d2 <= reach2:
                _push(out, i, pos, nb_pos, b, normal, spacing, speed)
    starts[n] = m
    return out, (starts, cand[:m].copy())


def _spread_listed_impl(pos, p0, limit, cand, offsets, nb_pos, src, nb_group, normal, group, spacing, speed):
    """The listed beacons only, while no drone moved `limit` since the list was made;
    (False, ...) when one may have."""
    starts, ks = cand
    n = len(offsets) - 1
    out = np.zeros((n, 3))
    if not farthest_move(pos, p0) <= limit:
        return False, out
    reach = spacing * (1.0 + 1e-6) + 1e-9
    reach2 = reach * reach
    for i in range(n):
        for q in range(starts[i], starts[i + 1]):
            b = src[ks[q]]
            dx, dy, dz = pos[i, 0] - nb_pos[b, 0], pos[i, 1] - nb_pos[b, 1], pos[i, 2] - nb_pos[b, 2]
            if dx * dx + dy * dy + dz * dz <= reach2:
                _push(out, i, pos, nb_pos, b, normal, spacing, speed)
    return True, out


if numba_available():
    _push = jit(_push, inline="always")
    _spread_listing = jit(_spread_listing_impl)
    _spread_listed = jit(_spread_listed_impl)
