"""Offline part of GMT*: an obstacle-free roadmap over the planning bounds, cached.

Everything that does not depend on obstacles, start or goal is computed once per (bounds,
sample count, seed, radius) and reused by every query: samples (scrambled Halton by default),
neighbour lists in CSR form (out-lists to discover new nodes, in-lists with edge costs to pick
parents; the two are the same arrays for the symmetric geometric case) and the edge costs.
A geometric edge is a straight segment, tested exactly online, so its "discretization" is its
two end points. At query time `with_endpoints` appends the start and goal as two more nodes.

Radius rule (logged in `Roadmap.radius_rule`): the authors' code formula
r = 2 (1 + eta) (1/d)^(1/d) (mu / zeta_d)^(1/d) (log n / n)^(1/d), eta = 0.5, with mu the volume
of the bounds (their code takes mu = 1 on the unit cube; on T1 both give r = 0.0494).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from scipy.stats import qmc

from . import roadmap_jit

SAMPLERS = ("halton", "uniform")


@dataclass(frozen=True)
class Graph:
    """Directed graph in CSR form. Row x of `in_*` lists the edges y -> x with their data."""
    points: np.ndarray            # (N, d) node coordinates (kinodynamic: states)
    out_ptr: np.ndarray
    out_idx: np.ndarray
    in_ptr: np.ndarray
    in_idx: np.ndarray
    in_data: dict                 # name -> per in-entry array; always has "cost"

    @property
    def n(self) -> int:
        return len(self.points)

    @property
    def n_edges(self) -> int:
        return len(self.in_idx)


@dataclass(frozen=True)
class Roadmap:
    graph: Graph
    lo: np.ndarray
    hi: np.ndarray
    radius: float
    radius_rule: str
    seed: int
    sampler: str
    tree: cKDTree = field(repr=False)

    @property
    def d(self) -> int:
        return self.graph.points.shape[1]


def unit_ball_volume(d: int) -> float:
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1)


def code_radius(n: int, lo, hi, eta: float = 0.5) -> float:
    d = len(lo)
    mu = float(np.prod(np.asarray(hi, float) - np.asarray(lo, float)))
    return 2 * (1 + eta) * (1 / d) ** (1 / d) * (mu / unit_ball_volume(d)) ** (1 / d) * (math.log(n) / n) ** (1 / d)


def draw_samples(n: int, lo, hi, seed: int, sampler: str = "halton") -> np.ndarray:
    """n points in the box [lo, hi], drawn on the host with numpy/scipy for every backend."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if sampler == "halton":
        u = qmc.Halton(len(lo), scramble=True, seed=np.random.default_rng(seed)).random(n)
    elif sampler == "uniform":
        u = np.random.default_rng(seed).random((n, len(lo)))
    else:
        raise ValueError(f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")
    return lo + u * (hi - lo)


def edge_lengths(pts: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """|pts[i] - pts[j]| per pair, summed coordinate by coordinate.

    Bit for bit `sqrt(((pts[i] - pts[j]) ** 2).sum(axis=1))` (the same IEEE operations in the
    same order), but gathering from one contiguous coordinate column at a time instead of rows
    of the (n, d) array is an order of magnitude faster at roadmap sizes.
    """
    acc = np.zeros(len(i))
    for k in range(pts.shape[1]):
        col = np.ascontiguousarray(pts[:, k])
        x = col.take(i) - col.take(j)
        x *= x
        acc += x
    return np.sqrt(acc, out=acc)


def csr_from_pairs(n: int, src: np.ndarray, dst: np.ndarray, *data: np.ndarray):
    """CSR (ptr, cols, *data) of distinct directed edges src -> dst, rows sorted by src then dst.

    The order comes from scipy.sparse (a counting sort by row, then short per-row sorts), which
    is several times faster than a global lexsort at roadmap sizes; it carries each edge's
    position as its value, so the data arrays are permuted, never recomputed.
    """
    m = csr_matrix((np.arange(len(src), dtype=np.int64), (src, dst)), shape=(n, n))
    m.sort_indices()
    if m.nnz != len(src):
        raise ValueError("csr_from_pairs needs distinct (src, dst) pairs")
    order = m.data
    return (m.indptr.astype(np.intp), m.indices.astype(np.intp), *(x[order] for x in data))


def csr_append(ptr, cols, data: dict, n_new: int, src, dst, extra: dict):
    """Append edges src -> dst (with their data) at the ends of their rows; rows grow to n_new."""
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    n_old = len(ptr) - 1
    at = np.where(src < n_old, ptr[np.minimum(src, n_old - 1) + 1], len(cols))
    new_ptr = np.concatenate([ptr, np.full(n_new - n_old, ptr[-1])])
    new_ptr[1:] += np.cumsum(np.bincount(src, minlength=n_new))
    new_data = {k: np.insert(v, at, extra[k][order]) for k, v in data.items()}
    return new_ptr, np.insert(cols, at, dst), new_data


@lru_cache(maxsize=16)
def _geometric(lo: tuple, hi: tuple, n: int, seed: int, sampler: str, radius: float | None) -> Roadmap:
    pts = draw_samples(n, lo, hi, seed, sampler)
    r = radius if radius is not None else code_radius(n, lo, hi)
    rule = "given" if radius is not None else "code formula, eta = 0.5, mu = volume of bounds"
    tree = cKDTree(pts, balanced_tree=False)      # sliding midpoint: built 2x faster, same pairs
    pairs = tree.query_pairs(r, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    if roadmap_jit.usable(n):        # the same arrays, one compiled pass
        ptr, cols, c = roadmap_jit.symmetric_csr(n, i, j, pts)
    else:
        cost = edge_lengths(pts, i, j)
        ptr, cols, c = csr_from_pairs(n, np.r_[i, j], np.r_[j, i], np.r_[cost, cost])
    g = Graph(pts, ptr, cols, ptr, cols, {"cost": c})
    return Roadmap(g, np.asarray(lo, float), np.asarray(hi, float), float(r), rule, seed, sampler, tree)


def geometric_roadmap(lo, hi, n: int, seed: int = 0, sampler: str = "halton",
                      radius: float | None = None) -> Roadmap:
    """The cached obstacle-free roadmap of n samples in the box [lo, hi]."""
    return _geometric(tuple(map(float, lo)), tuple(map(float, hi)), int(n), int(seed), sampler,
                      None if radius is None else float(radius))


def with_endpoints(rm: Roadmap, start, goal) -> Graph:
    """The roadmap plus start (node n) and goal (node n + 1), linked both ways to samples within r."""
    g, n, r = rm.graph, rm.graph.n, rm.radius
    ends = np.array([start, goal], float)
    near = rm.tree.query_ball_point(ends, r, return_sorted=True)
    a, b = [], []
    for k, node in ((0, n), (1, n + 1)):
        others = np.asarray(near[k], np.intp)
        a += [np.full(len(others), node), others]
        b += [others, np.full(len(others), node)]
    if np.linalg.norm(ends[1] - ends[0]) < r:      # start and goal see each other
        a.append(np.array([n, n + 1]))
        b.append(np.array([n + 1, n]))
    a, b = np.concatenate(a).astype(np.intp), np.concatenate(b).astype(np.intp)
    pts = np.r_[g.points, ends]
    cost = edge_lengths(pts, a, b)
    ptr, cols, data = csr_append(g.in_ptr, g.in_idx, g.in_data, n + 2, a, b, {"cost": cost})
    return Graph(pts, ptr, cols, ptr, cols, data)
