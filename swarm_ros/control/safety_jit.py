"""Compiled twin (numba) of the safety layer's neighbour pass, for whole swarms at once.

At a few hundred drones and more, a drone hears ~100 beacons, and numpy spends the safety
layer's time building (E, 3) temporaries for every beacon although only the few within the
separation margin contribute. This loop computes each beacon's clearance without temporaries
and keeps only the contacts inside the margin, in the same order and with the same arithmetic
as safety.neighbour_contacts (numpy, the reference, and what runs for small groups such as a
drone node's own step, or without numba): test/test_controllers.py checks they agree.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

MIN_BATCH = 64    # fewer drones than this: numpy (no compiler in a drone node's own step)


def use_compiled(n: int) -> bool:
    return n >= MIN_BATCH and numba_available()


def near_contacts(obs, radius: np.ndarray, max_extrapolation: float, margin: float):
    """(receiver, unit vector away, clearance) of the neighbour contacts with clearance < margin."""
    nb = obs.neighbours
    # strided views (columns of the beacon rows) go in as they are: no copies per tick
    return _near(float(obs.t), np.asarray(obs.position, float), np.asarray(obs.ids, np.int64),
                 np.asarray(nb.offsets, np.int64), np.asarray(nb.sender, np.int64), np.asarray(nb.stamp, float),
                 np.asarray(nb.position, float), np.asarray(nb.velocity, float), np.asarray(nb.radius, float),
                 np.asarray(radius, float), float(max_extrapolation), float(margin))


def _near_impl(t, pos, ids, offsets, sender, stamp, nb_pos, nb_vel, nb_radius, radius, max_extrap, margin):
    e = len(stamp)
    rcv = np.empty(e, np.int64)
    away = np.empty((e, 3))
    clear = np.empty(e)
    m = 0
    for i in range(len(offsets) - 1):
        px, py, pz, ri = pos[i, 0], pos[i, 1], pos[i, 2], radius[i]
        for k in range(offsets[i], offsets[i + 1]):
            age = min(max(t - stamp[k], 0.0), max_extrap)
            dx = px - (nb_pos[k, 0] + nb_vel[k, 0] * age)
            dy = py - (nb_pos[k, 1] + nb_vel[k, 1] * age)
            dz = pz - (nb_pos[k, 2] + nb_vel[k, 2] * age)
            d2 = dx * dx + dy * dy + dz * dz
            # most beacons are far beyond the margin: told from the square, with room to spare
            # for rounding, before the root; those near it get the exact test below
            reach = (margin + ri + nb_radius[k]) * (1.0 + 1e-6) + 1e-9
            if d2 > reach * reach:
                continue
            dist = np.sqrt(d2)
            c = dist - radius[i] - nb_radius[k]
            if not c < margin:
                continue
            if dist > 1e-9:
                ax, ay, az = dx / dist, dy / dist, dz / dist
            else:   # coincident: a horizontal direction fixed by the pair of fleet ids
                me, other = ids[i], sender[k]
                ang = (min(me, other) * 7919 + max(me, other)) * 2.399963
                sense = 1.0 if me < other else -1.0
                ax, ay, az = np.cos(ang) * sense, np.sin(ang) * sense, 0.0
            rcv[m] = i
            away[m, 0], away[m, 1], away[m, 2] = ax, ay, az
            clear[m] = c
            m += 1
    return rcv[:m], away[:m], clear[:m]


def _near_numpy(*args):
    raise RuntimeError("safety_jit needs numba; use safety.neighbour_contacts")


_near = jit(_near_impl, fallback=_near_numpy) if numba_available() else _near_numpy
