"""Compiled twin (numba) of the point-mass step, for whole swarms at once.

At a thousand drones the numpy step (a dozen array operations per substep, four substeps per
control tick) costs more in dispatch and temporaries than in arithmetic. This loop does the
same operations in the same order per drone (numpy's einsum adds a contiguous 3-vector's
squares as (x + z) + y, so this does too), so positions and velocities are equal
(test/test_pointmass.py checks); pointmass.py is the reference and what runs without numba
or for fewer than MIN_DRONES drones.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.core.compiled import jit, numba_available

MIN_DRONES = 64


def usable(n: int) -> bool:
    return n >= MIN_DRONES and numba_available()


def _step_impl(v_cmd, p, v, cmd, max_speed, max_climb, max_descent, max_accel, inv_tau, dt, substeps):
    for i in range(len(p)):
        cx, cy, cz = v_cmd[i, 0], v_cmd[i, 1], v_cmd[i, 2]
        scale = min(1.0, max_speed[i] / max(np.hypot(cx, cy), 1e-12))
        cx *= scale
        cy *= scale
        cz = min(max(cz, -max_descent[i]), max_climb[i])
        cmd[i, 0], cmd[i, 1], cmd[i, 2] = cx, cy, cz
        for _ in range(substeps):
            ax = (cx - v[i, 0]) * inv_tau[i]
            ay = (cy - v[i, 1]) * inv_tau[i]
            az = (cz - v[i, 2]) * inv_tau[i]
            lim = min(1.0, max_accel[i] / max(np.sqrt((ax * ax + az * az) + ay * ay), 1e-12))
            v[i, 0] += ax * lim * dt
            v[i, 1] += ay * lim * dt
            v[i, 2] += az * lim * dt
            p[i, 0] += v[i, 0] * dt
            p[i, 1] += v[i, 1] * dt
            p[i, 2] += v[i, 2] * dt
            if p[i, 2] < 0.0:
                p[i, 2] = 0.0
                v[i, 2] = max(v[i, 2], 0.0)


step = jit(_step_impl) if numba_available() else None
