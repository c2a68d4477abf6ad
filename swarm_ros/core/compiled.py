"""Which implementation runs the FISC-like batched step: numpy, numba (compiled twins), or CuPy.

numpy code is the reference everywhere; numba twins (fisc_jit.py, channel_jit.py, the cell
list in verlet.py, the simulator pass in fisc_sim.py) follow it operation by operation and are
used when numba is installed; CuPy runs the numpy code on a GPU through swarm_ros.planning.backend.
Choose with the argument, else env SWARM_ROS_FISC_BACKEND, else CuPy when a CUDA device is
present, else numba when installed, else numpy. `small=True` callers (one drone's own step, a
few dozen agents) get numpy unless told otherwise: no GPU transfers, no compiler in a drone node.
numba is imported only when something is compiled, so importing the controllers stays light.
"""
from __future__ import annotations

import importlib.util
import os
from functools import lru_cache

ENV_VAR = "SWARM_ROS_FISC_BACKEND"
NAMES = ("numpy", "numba", "cupy")


@lru_cache(maxsize=None)
def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def backend_name(name: str | None = None, small: bool = False) -> str:
    """`name`, else the env variable, else numpy for `small` problems, else cupy (GPU present),
    numba (installed), numpy."""
    name = name or os.environ.get(ENV_VAR) or ("numpy" if small else None) \
        or ("cupy" if _gpu() else None) or ("numba" if numba_available() else "numpy")
    if name not in NAMES:
        raise ValueError(f"unknown FISC backend {name!r}; allowed: {', '.join(NAMES)}")
    if name == "numba" and not numba_available():
        raise ValueError("FISC backend 'numba' requested but numba is not installed (pip install numba)")
    if name == "cupy" and not _gpu():
        raise ValueError("FISC backend 'cupy' requested but no CUDA device (or no CuPy) is available")
    return name


def cuda_available() -> bool:
    """A CUDA device that CuPy can use is present."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:   # not installed, no driver, no device: all mean "no GPU here"
        return False


@lru_cache(maxsize=None)
def _gpu() -> bool:
    return cuda_available()


def jit(fn, fallback=None, **options):
    """`fn` compiled with numba (cached on disk), or `fallback` (else `fn` itself) without numba."""
    if not numba_available():
        return fallback or fn
    import numba
    return numba.njit(cache=True, **options)(fn)
