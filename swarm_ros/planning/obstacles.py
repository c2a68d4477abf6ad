"""Obstacles for planning: axis-aligned boxes and vertical cylinders, inflated per vehicle.

Tests are exact (slab method for boxes, a quadratic in the segment parameter for cylinders)
and vectorized over many segments or points at once. With more than a few obstacles a uniform
grid over the planning bounds lists the obstacles that overlap each cell, so a query tests only
the obstacles near it; segments longer than a cell are cut into cell-sized pieces first, so each
piece touches at most 2 cells per axis. Inflation grows each shape by the margin on every side
(a box becomes a bigger box, a cylinder a wider and taller one): a superset of the exact
Minkowski sum with a sphere, so clearance is never overstated.
"""
from __future__ import annotations

import itertools

import numpy as np

from . import obstacles_jit
from .backend import Backend, get_backend

BRUTE_FORCE_MAX = 8        # up to this many obstacles, test every pair without the grid
MAX_CELLS = 1 << 20
DEFAULT_MARGIN = 0.1       # m of clearance beyond the body radius (tracking error of the follower)


def inflation_for(vehicle, margin: float = DEFAULT_MARGIN) -> float:
    """Distance by which obstacles grow for a vehicle: its body radius plus a margin."""
    return float(vehicle.body_radius) + float(margin)


class ObstacleSet:
    """Boxes (lo, hi) in d dimensions and, for d = 3, vertical cylinders; ids boxes first."""

    def __init__(self, bounds_lo, bounds_hi, box_lo=(), box_hi=(), cyl_center=(), cyl_radius=(),
                 cyl_z=(), cell: float | None = None, backend: Backend | None = None):
        self.be = be = backend or get_backend("numpy")
        self.lo, self.hi = np.asarray(bounds_lo, float), np.asarray(bounds_hi, float)
        d = self.d = len(self.lo)
        self.box_lo = np.asarray(box_lo, float).reshape(-1, d)
        self.box_hi = np.asarray(box_hi, float).reshape(-1, d)
        self.cyl_c = np.asarray(cyl_center, float).reshape(-1, 2)
        self.cyl_r = np.asarray(cyl_radius, float).reshape(-1)
        self.cyl_z = np.asarray(cyl_z, float).reshape(-1, 2)
        if len(self.cyl_r) and d != 3:
            raise ValueError("cylinders need a 3-D problem")
        self.nb, self.m = len(self.box_lo), len(self.box_lo) + len(self.cyl_r)
        # Per-obstacle AABBs (boxes first) and the exact-test data on the backend.
        aabb_lo = np.concatenate([self.box_lo, np.c_[self.cyl_c - self.cyl_r[:, None], self.cyl_z[:, 0]]]) \
            if len(self.cyl_r) else self.box_lo
        aabb_hi = np.concatenate([self.box_hi, np.c_[self.cyl_c + self.cyl_r[:, None], self.cyl_z[:, 1]]]) \
            if len(self.cyl_r) else self.box_hi
        self.aabb_lo, self.aabb_hi = aabb_lo, aabb_hi
        self._dev = {k: be.asarray(v) for k, v in (("blo", self.box_lo), ("bhi", self.box_hi), ("cc", self.cyl_c),
                                                   ("cr", self.cyl_r), ("cz", self.cyl_z))}
        self.cell = None
        # numba twins of the exact tests on host arrays (same answers); False: the numpy code.
        self.compiled = obstacles_jit.usable(self)
        if self.m > BRUTE_FORCE_MAX:
            self._build_grid(cell or float(np.max(self.hi - self.lo)) / 32)

    @classmethod
    def from_world(cls, world, inflate: float = 0.0, backend: Backend | None = None, cell: float | None = None):
        """The world's boxes and cylinders grown by `inflate` (m), in the world's bounds."""
        from sim.world import Box
        boxes = [o for o in world.obstacles if isinstance(o, Box)]
        cyls = [o for o in world.obstacles if not isinstance(o, Box)]
        c = np.array([b.center for b in boxes], float).reshape(-1, 3)
        h = np.array([b.size for b in boxes], float).reshape(-1, 3) / 2 + inflate
        return cls(world.bounds_min, world.bounds_max, c - h, c + h,
                   [o.center for o in cyls], [o.radius + inflate for o in cyls],
                   [(o.z_min - inflate, o.z_max + inflate) for o in cyls], cell=cell, backend=backend)

    def grown(self, extra: float) -> "ObstacleSet":
        """The same obstacles grown by `extra` more on every side."""
        if extra == 0:
            return self
        return ObstacleSet(self.lo, self.hi, self.box_lo - extra, self.box_hi + extra, self.cyl_c,
                           self.cyl_r + extra, self.cyl_z + [-extra, extra], cell=self.cell, backend=self.be)

    # --- broad phase --------------------------------------------------------------------------

    def _build_grid(self, cell: float) -> None:
        extent = self.hi - self.lo
        while np.prod(np.ceil(extent / cell)) > MAX_CELLS:
            cell *= 2
        self.cell = cell
        self.shape = np.maximum(np.ceil(extent / cell).astype(np.intp), 1)
        c0, c1 = self._cells(self.aabb_lo), self._cells(self.aabb_hi)
        span = c1 - c0 + 1                                          # (M, d) cells per axis
        count = span.prod(axis=1)
        obs = np.repeat(np.arange(self.m), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        flat = np.zeros(len(k), np.intp)
        for ax in range(self.d):                                    # unravel k over each span
            stride = np.prod(span[:, ax + 1:], axis=1) if ax + 1 < self.d else np.ones(self.m, np.intp)
            coord = c0[obs, ax] + (k // stride[obs]) % span[obs, ax]
            flat = flat * self.shape[ax] + coord
        order = np.argsort(flat, kind="stable")
        ptr = np.zeros(int(np.prod(self.shape)) + 1, np.intp)
        np.cumsum(np.bincount(flat, minlength=len(ptr) - 1), out=ptr[1:])
        self._grid_ptr, self._grid_obs = self.be.asarray(ptr), self.be.asarray(obs[order])
        self._shape_dev = self.be.asarray(self.shape)

    def _cells(self, p, xp=np):
        lo = xp.asarray(self.lo) if xp is not np else self.lo
        c = xp.floor((p - lo) / self.cell).astype(np.intp)
        return xp.clip(c, 0, xp.asarray(self.shape) - 1)

    def _flat(self, c):
        flat = c[:, 0]
        for ax in range(1, self.d):
            flat = flat * int(self.shape[ax]) + c[:, ax]
        return flat

    def _pairs_from_cells(self, flat_cells, item):
        """(item, obstacle) candidate pairs for items sitting in the given grid cells."""
        pos, owner, _ = self.be.gather_rows(self._grid_ptr, flat_cells)
        return item[owner], self._grid_obs[pos]

    # --- queries ------------------------------------------------------------------------------

    def points_in(self, p):
        """True where a point (N, d) is inside (or on) an obstacle."""
        xp, n = self.be.xp, len(p)
        hit = xp.zeros(n, dtype=bool)
        if self.m == 0 or n == 0:
            return hit
        if self.compiled:
            return obstacles_jit.points_in(self, p)
        if self.cell is None:
            item, obs = xp.repeat(xp.arange(n), self.m), xp.tile(xp.arange(self.m), n)
        else:
            item, obs = self._pairs_from_cells(self._flat(self._cells(p, xp)), xp.arange(n))
        inside = self._exact(p[item], None, obs)
        hit[item[inside]] = True
        return hit

    def segments_hit(self, a, b):
        """True where the segment a->b (both (S, d)) touches an obstacle."""
        xp, s = self.be.xp, len(a)
        hit = xp.zeros(s, dtype=bool)
        if self.m == 0 or s == 0:
            return hit
        if self.compiled:
            return obstacles_jit.segments_hit(self, a, b)
        if self.cell is None:
            item, obs = xp.repeat(xp.arange(s), self.m), xp.tile(xp.arange(self.m), s)
            inside = self._exact(a[item], (b - a)[item], obs)
            hit[item[inside]] = True
            return hit
        # Cut segments into pieces no longer than a cell, then enumerate the <= 2^d cells of each.
        length = xp.sqrt(((b - a) ** 2).sum(axis=1))
        npieces = xp.maximum(xp.ceil(length / self.cell).astype(np.intp), 1)
        seg = self.be.owners(npieces, int(npieces.sum()))
        k = xp.arange(len(seg)) - (xp.cumsum(npieces) - npieces)[seg]
        d = (b - a)[seg] / npieces[seg][:, None]
        pa = a[seg] + k[:, None] * d
        pb = pa + d
        c0 = self._cells(xp.minimum(pa, pb), xp)
        c1 = self._cells(xp.maximum(pa, pb), xp)
        items, cells = [], []
        for bits in itertools.product((0, 1), repeat=self.d):
            axes = xp.asarray(np.flatnonzero(bits))
            ok = xp.all(c1[:, axes] > c0[:, axes], axis=1) if len(axes) else xp.ones(len(pa), dtype=bool)
            idx = xp.flatnonzero(ok)
            cells.append(self._flat(xp.where(xp.asarray(np.array(bits, bool)), c1[idx], c0[idx])))
            items.append(idx)
        item, obs = self._pairs_from_cells(xp.concatenate(cells), xp.concatenate(items))
        inside = self._exact(pa[item], d[item], obs)
        hit[seg[item[inside]]] = True
        return hit

    # --- exact tests on (item, obstacle) pairs ------------------------------------------------

    def _exact(self, p, d, obs):
        """Point p (d is None) or segment p -> p + d against obstacle `obs`, per row."""
        xp = self.be.xp
        out = xp.zeros(len(obs), dtype=bool)
        is_box = obs < self.nb
        ib, ic = xp.flatnonzero(is_box), xp.flatnonzero(~is_box)
        if len(ib):
            lo, hi = self._dev["blo"][obs[ib]], self._dev["bhi"][obs[ib]]
            if d is None:
                out[ib] = xp.all((p[ib] >= lo) & (p[ib] <= hi), axis=1)
            else:
                t0, t1 = _slab(xp, p[ib], d[ib], lo, hi)
                out[ib] = xp.maximum(t0.max(axis=1), 0.0) <= xp.minimum(t1.min(axis=1), 1.0)
        if len(ic):
            j = obs[ic] - self.nb
            c, r, z = self._dev["cc"][j], self._dev["cr"][j], self._dev["cz"][j]
            q = p[ic]
            if d is None:
                rel = q[:, :2] - c
                out[ic] = ((rel ** 2).sum(axis=1) <= r * r) & (q[:, 2] >= z[:, 0]) & (q[:, 2] <= z[:, 1])
            else:
                out[ic] = _segment_cylinder(xp, q, d[ic], c, r, z)
        return out


def _slab(xp, p, d, lo, hi):
    """Entry and exit parameters of the line p + t d through each axis slab [lo, hi]."""
    flat = d == 0
    inside = (p >= lo) & (p <= hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - p) / d, (hi - p) / d
    near = xp.where(flat, xp.where(inside, -xp.inf, xp.inf), xp.minimum(ta, tb))
    far = xp.where(flat, xp.where(inside, xp.inf, -xp.inf), xp.maximum(ta, tb))
    return near, far


def _segment_cylinder(xp, p, d, c, r, z):
    """Segment p -> p + d meets the vertical cylinder |xy - c| <= r, z in [z0, z1]."""
    q, v = p[:, :2] - c, d[:, :2]
    qa, qb, qc = (v * v).sum(axis=1), 2 * (q * v).sum(axis=1), (q * q).sum(axis=1) - r * r
    disc = qb * qb - 4 * qa * qc
    still = qa == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        root = xp.sqrt(xp.maximum(disc, 0.0))
        ta, tb = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
    ta = xp.where(still, xp.where(qc <= 0, -xp.inf, xp.inf), xp.where(disc < 0, xp.inf, ta))
    tb = xp.where(still, xp.where(qc <= 0, xp.inf, -xp.inf), xp.where(disc < 0, -xp.inf, tb))
    za, zb = _slab(xp, p[:, 2:3], d[:, 2:3], z[:, 0:1], z[:, 1:2])
    t0 = xp.maximum(xp.maximum(ta, za[:, 0]), 0.0)
    t1 = xp.minimum(xp.minimum(tb, zb[:, 0]), 1.0)
    return t0 <= t1
