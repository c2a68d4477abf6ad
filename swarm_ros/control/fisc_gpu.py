"""The FISC-like law on a GPU: fisc.law run with CuPy arrays (swarm_ros/planning/backend.py).

The law is written in array code for a module `xp`, so the GPU runs the very numpy code: every
input is copied to the device, the law runs there, and the command and fields come back. Wall
distances and neighbour pairs are found on the host (they are a small share of the work at
scale). The same operations in the same order give numpy's numbers to rounding; CuPy's
`bincount` adds with atomics in no fixed order, so sums can differ in the last bits.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.planning.backend import get_backend


def on_device(law, pos, vel, pi, pj, wall_d, wall_n, channel, params, limits):
    from .fisc import Fields, Limits
    b = get_backend("cupy")

    def dev(a):
        a = np.asarray(a, float)
        return float(a) if a.ndim == 0 else b.asarray(a)

    lim = Limits(*(dev(getattr(limits, f)) for f in ("max_speed", "max_accel", "response_time",
                                                      "max_climb", "max_descent")))
    v, f = law(b.xp, b.asarray(pos, float), b.asarray(vel, float), b.asarray(pi), b.asarray(pj),
               b.asarray(wall_d), b.asarray(wall_n), channel, params, lim)
    return b.to_host(v), Fields(*(b.to_host(getattr(f, k)) for k in ("rho", "u", "T", "P")))
