"""Which implementation runs the FISC-like batched step: numpy, numba (compiled twins), or CuPy.

numpy code is the reference everywhere; numba twins (fisc_jit.py, channel_jit.py, the cell
list in verlet.py) follow it operation by operation and are used when numba is importable;
CuPy runs the numpy code on a GPU through swarm_ros.planning.backend. Choose with the argument,
else env SWARM_ROS_FISC_BACKEND, else CuPy when a CUDA device is present (for the batched step;
`cpu=True` callers, such as one drone's own step, skip it), else numba when installed, else numpy.
"""
from __future__ import annotations

import os
from functools import lru_cache

ENV_VAR = "SWARM_ROS_FISC_BACKEND"
NAMES = ("numpy", "numba", "cupy")

try:
    import numba
except ImportError:        # optional: the numpy code gives the same numbers, slower
    numba = None


def backend_name(name: str | None = None, cpu: bool = False) -> str:
    """`name`, else the env variable, else cupy (GPU present, not `cpu`), numba, numpy."""
    name = name or os.environ.get(ENV_VAR) or ("cupy" if not cpu and _gpu() else None) \
        or ("numba" if numba is not None else "numpy")
    if name not in NAMES:
        raise ValueError(f"unknown FISC backend {name!r}; allowed: {', '.join(NAMES)}")
    if name == "numba" and numba is None:
        raise ValueError("FISC backend 'numba' requested but numba is not installed (pip install numba)")
    if name == "cupy" and not _gpu():
        raise ValueError("FISC backend 'cupy' requested but no CUDA device (or no CuPy) is available")
    return name


@lru_cache(maxsize=None)
def _gpu() -> bool:
    from swarm_ros.planning.backend import cuda_available
    return cuda_available()


def jit(fn, fallback=None, **options):
    """`fn` compiled with numba (cached on disk), or `fallback` (else `fn` itself) without numba."""
    if numba is None:
        return fallback or fn
    return numba.njit(cache=True, **options)(fn)
