"""Array backend for the planner: CuPy when a CUDA device is present, numpy otherwise.

The planner's online loop is written against `Backend.xp` plus the few helpers below whose
numpy and CuPy spellings differ (CuPy has no `ufunc.reduceat` and no `repeat` with an array of
counts). Every helper gives bit-identical results on both: only gathers, comparisons, exact
min-reductions and single IEEE operations per element (no fused kernels), so the same roadmap
and obstacles give the same tree. Random samples are always drawn with numpy on the host.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from swarm_ros.core.compiled import cuda_available

NAMES = ("numpy", "cupy")
ENV_VAR = "SWARM_ROS_PLAN_BACKEND"


class BackendError(RuntimeError):
    """The requested backend cannot run here (one line, for the CLI)."""


@dataclass(frozen=True)
class Backend:
    name: str
    xp: object

    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def to_host(self, a) -> np.ndarray:
        return a.get() if self.name == "cupy" else np.asarray(a)

    def owners(self, lengths, total: int):
        """Segment index of every element of segments with the given lengths (all > 0 or not)."""
        xp = self.xp
        if self.name == "numpy":
            return np.repeat(np.arange(len(lengths), dtype=np.intp), lengths)
        ends = xp.cumsum(lengths)
        return xp.searchsorted(ends, xp.arange(total), side="right")

    def gather_rows(self, ptr, rows):
        """Flat CSR entry positions of `rows` and each entry's row slot (index into `rows`)."""
        xp = self.xp
        starts = ptr[rows]
        lengths = ptr[rows + 1] - starts
        total = int(lengths.sum())
        owner = self.owners(lengths, total)
        offsets = xp.cumsum(lengths) - lengths
        pos = xp.arange(total) - offsets[owner] + starts[owner]
        return pos, owner, lengths

    def segment_min(self, values, owner, lengths):
        """Minimum of each contiguous, non-empty segment."""
        if self.name == "numpy":
            starts = np.cumsum(lengths) - lengths
            return np.minimum.reduceat(values, starts)
        out = self.xp.full(len(lengths), self.xp.inf)
        try:
            self.xp.minimum.at(out, owner, values)
        except AttributeError:          # CuPy before ufunc.at
            import cupyx
            cupyx.scatter_min(out, owner, values)
        return out

    def first_per_segment(self, mask, owner, n_segments: int):
        """Position of the first True of each segment (-1 where a segment has none)."""
        xp = self.xp
        pos = xp.flatnonzero(mask)
        seg = owner[pos]
        keep = xp.ones(len(pos), dtype=bool)
        keep[1:] = seg[1:] != seg[:-1]
        out = xp.full(n_segments, -1, dtype=pos.dtype)
        out[seg[keep]] = pos[keep]
        return out


@lru_cache(maxsize=None)
def get_backend(name: str | None = None) -> Backend:
    """`numpy`, `cupy`, or None for automatic (env SWARM_ROS_PLAN_BACKEND, else CuPy if a GPU is present)."""
    name = name or os.environ.get(ENV_VAR) or ("cupy" if cuda_available() else "numpy")
    if name not in NAMES:
        raise BackendError(f"unknown planner backend {name!r}; allowed: {', '.join(NAMES)}")
    if name == "numpy":
        return Backend("numpy", np)
    try:
        import cupy
    except ImportError:
        raise BackendError("backend 'cupy' requested but CuPy is not installed "
                           "(pip install cupy-cuda12x on a machine with a CUDA GPU)") from None
    if not cuda_available():
        raise BackendError("backend 'cupy' requested but no CUDA device is available") from None
    return Backend("cupy", cupy)
