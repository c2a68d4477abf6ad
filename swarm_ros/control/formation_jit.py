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

from . import safety_jit


def spread(obs, normal: np.ndarray, group: int, spacing: float, speed: float) -> np.ndarray:
    """Sum per drone (N, 3) of the tangential pushes away from same-group neighbours."""
    nb = obs.neighbours
    rows, src = safety_jit.beacon_rows(nb)
    return _spread(np.asarray(obs.position, float), np.asarray(nb.offsets, np.int64), rows[:, 0:3], src,
                   np.asarray(nb.group, np.int64), np.asarray(normal, float), int(group), float(spacing), float(speed))


def _spread_impl(pos, offsets, nb_pos, src, nb_group, normal, group, spacing, speed):
    n = len(offsets) - 1
    out = np.zeros((n, 3))
    reach = spacing * (1.0 + 1e-6) + 1e-9      # beyond: out of reach whatever the rounding
    reach2 = reach * reach
    for i in range(n):
        for k in range(offsets[i], offsets[i + 1]):
            if nb_group[k] != group:
                continue
            b = src[k]
            dx, dy, dz = pos[i, 0] - nb_pos[b, 0], pos[i, 1] - nb_pos[b, 1], pos[i, 2] - nb_pos[b, 2]
            d2 = dx * dx + dy * dy + dz * dz
            if d2 > reach2:
                continue
            d = np.sqrt(d2)
            if not (d < spacing and d > 1e-9):
                continue
            s = speed * (1.0 - d / spacing)
            px, py, pz = dx / d * s, dy / d * s, dz / d * s
            dot = px * normal[i, 0] + py * normal[i, 1] + pz * normal[i, 2]
            out[i, 0] += px - dot * normal[i, 0]
            out[i, 1] += py - dot * normal[i, 1]
            out[i, 2] += pz - dot * normal[i, 2]
    return out


_spread = jit(_spread_impl) if numba_available() else None
