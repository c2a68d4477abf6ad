"""A Verlet neighbour list: pairs within `radius`, from a list rebuilt only now and then.

The list holds every pair whose reference positions (where the agents were at the last build, or
where they joined since) lie within radius + skin. While no two agents have moved more than
`skin` in total since their reference positions, every pair now within `radius` is in the list
(triangle inequality); the list is rebuilt when the two largest displacements add up to more
than the skin. Callers get a superset of the pairs within `radius`, and a law with compact
support (zero weight at and beyond `radius`) sums the same terms.

Order matters for bit-identical sums: the list is kept so that, for every agent, its pairs come
in the order of the lexicographically sorted (i, j) list. Agents that leave are compressed out
(indices remapped monotonically); agents that join are appended with the highest indices, and
their pairs are appended sorted, which in each agent's own sequence is where sorting would put
them. Per-agent sums by `np.bincount` then equal those over exact, sorted pairs bit for bit.
Builds use a KD-tree and a sort (numpy), or a compiled cell list (numba): the same pairs.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from swarm_ros.core.compiled import backend_name, jit

_EMPTY = np.zeros(0, dtype=np.intp)


def sorted_pairs_within(pos: np.ndarray, radius: float, backend: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All unordered pairs i < j within `radius`, sorted by (i, j): a KD-tree query and a sort,
    or with numba a compiled cell list that emits them in order (the same pairs)."""
    if len(pos) < 2:
        return _EMPTY, _EMPTY
    if backend_name(backend) == "numba":
        return _cell_pairs(np.ascontiguousarray(pos, float), float(radius))
    p = cKDTree(pos).query_pairs(radius, output_type="ndarray")
    n = len(pos)
    key = p[:, 0] * n + p[:, 1]          # one sort of int64 keys is faster than a lexsort
    key.sort()
    i = key // n
    return i, key - i * n


class VerletPairs:
    def __init__(self, radius: float, skin: float, backend: str | None = None):
        if not radius > 0 or not skin >= 0:
            raise ValueError(f"Verlet list needs radius > 0 and skin >= 0, got {radius!r}, {skin!r}")
        self.radius, self.skin = float(radius), float(skin)
        self.ref: np.ndarray | None = None
        self.pi = self.pj = _EMPTY
        self.builds = 0
        self.backend = backend

    def pairs(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A superset of the pairs of `pos` within `radius` (rebuilding the list if it is stale)."""
        if self.ref is None or len(self.ref) != len(pos) or self._stale(pos):
            self.ref = pos.copy()
            self.pi, self.pj = sorted_pairs_within(pos, self.radius + self.skin, self.backend)
            self.builds += 1
        return self.pi, self.pj

    def _stale(self, pos: np.ndarray) -> bool:
        if self.skin == 0.0 or len(pos) < 2:
            return True
        d = pos - self.ref
        d2 = np.einsum("ij,ij->i", d, d)
        top = np.partition(d2, len(d2) - 2)[-2:] if len(d2) > 64 else np.sort(d2)[-2:]
        return float(np.sqrt(top[0]) + np.sqrt(top[1])) > self.skin

    def keep(self, mask: np.ndarray) -> None:
        """Agents where `mask` is False left; the rest keep their order."""
        if self.ref is None:
            return
        self.pi, self.pj = _keep(self.pi, self.pj, mask)
        self.ref = self.ref[mask]

    def append(self, new_pos: np.ndarray) -> None:
        """Agents joined at `new_pos`, after the existing ones: their pairs join the list."""
        if self.ref is None or not len(new_pos):
            self.ref = None if self.ref is None else np.vstack([self.ref, new_pos])
            return
        n, reach = len(self.ref), self.radius + self.skin
        lo, hi = new_pos.min(axis=0) - reach, new_pos.max(axis=0) + reach
        near = np.flatnonzero(np.all((self.ref >= lo) & (self.ref <= hi), axis=1))
        cand = np.vstack([self.ref[near], new_pos])
        index = np.concatenate([near, n + np.arange(len(new_pos))])
        d = new_pos[:, None, :] - cand[None, :, :]
        a, b = np.nonzero(np.einsum("ijk,ijk->ij", d, d) <= reach * reach)
        i, j = index[b], n + a
        keep = i < j
        i, j = i[keep], j[keep]
        order = np.lexsort((j, i))
        self.pi = np.concatenate([self.pi, i[order]])
        self.pj = np.concatenate([self.pj, j[order]])
        self.ref = np.vstack([self.ref, new_pos])


def _keep_impl(pi, pj, mask):
    """Pairs of agents both kept, renumbered in the kept agents' order (order preserved)."""
    new_index = np.cumsum(mask) - 1
    both = mask[pi] & mask[pj]
    return new_index[pi[both]], new_index[pj[both]]


def _keep_loop(pi, pj, mask):
    """_keep_impl as one compiled pass."""
    new_index = np.empty(len(mask), np.int64)
    c = 0
    for i in range(len(mask)):
        new_index[i] = c
        c += mask[i]
    out_i = np.empty(len(pi), np.int64)
    out_j = np.empty(len(pi), np.int64)
    m = 0
    for k in range(len(pi)):
        i, j = pi[k], pj[k]
        out_i[m] = new_index[i]
        out_j[m] = new_index[j]
        m += mask[i] and mask[j]
    return out_i[:m].copy(), out_j[:m].copy()


def _half_stencil(dim: int) -> np.ndarray:
    """Cell offsets in {-1, 0, 1}^dim whose first non-zero component is positive: with the cell
    itself, every pair of neighbouring cells once."""
    offs = np.array(np.meshgrid(*[[-1, 0, 1]] * dim, indexing="ij")).reshape(dim, -1).T
    first = np.array([o[np.flatnonzero(o)[0]] if o.any() else 0 for o in offs])
    return np.ascontiguousarray(offs[first > 0], dtype=np.int64)


_STENCILS = {dim: _half_stencil(dim) for dim in (2, 3)}


def _cell_pairs(pos: np.ndarray, radius: float):
    keys = _cell_keys(pos, radius, _STENCILS[pos.shape[1]])
    keys.sort()                         # numpy's sort: several times numba's
    return keys >> 32, keys & 0xFFFFFFFF


def _cell_keys_impl(pos, radius, stencil):
    """Cell list with cells of side `radius`: each cell against itself and its half stencil;
    every pair within `radius` once, as the key i 2^32 + j (i < j)."""
    n, dim = pos.shape
    lo = np.empty(dim)
    cells = np.empty(dim, np.int64)
    for c in range(dim):
        lo[c] = pos[:, c].min()
        cells[c] = int((pos[:, c].max() - lo[c]) / radius) + 1
    idx = np.empty((n, dim), np.int64)
    key = np.empty(n, np.int64)
    for i in range(n):
        k = 0
        for c in range(dim):
            idx[i, c] = min(int((pos[i, c] - lo[c]) / radius), cells[c] - 1)
            k = k * cells[c] + idx[i, c]
        key[i] = k
    order = np.argsort(key, kind="mergesort")
    total = 1
    for c in range(dim):
        total *= cells[c]
    start = np.zeros(total + 1, np.int64)
    for i in range(n):
        start[key[i] + 1] += 1
    for k in range(total):
        start[k + 1] += start[k]
    r2max = radius * radius
    cap = 16 * n + 16
    out = np.empty(cap, np.int64)
    m = 0
    for e0 in range(n):
        a = order[e0]
        ka = key[a]
        for s in range(-1, len(stencil)):
            if s < 0:
                kb = ka
                first = e0 + 1          # own cell: partners after a in the cell's order
            else:
                kb = 0
                ok = True
                for c in range(dim):
                    cc = idx[a, c] + stencil[s, c]
                    if cc < 0 or cc >= cells[c]:
                        ok = False
                    kb = kb * cells[c] + cc
                if not ok:
                    continue
                first = start[kb]
            if m + start[kb + 1] - first > cap:
                cap = 2 * (m + start[kb + 1] - first)
                out = grow(out, cap)
            for e in range(first, start[kb + 1]):
                b = order[e]
                r2 = 0.0
                for c in range(dim):
                    d = pos[a, c] - pos[b, c]
                    r2 += d * d
                out[m] = (min(a, b) << 32) | max(a, b)
                m += r2 <= r2max        # branch-free: a mispredicted branch costs more
    return out[:m].copy()


def _farthest_move(pos, p0):
    """The longest way any agent moved from p0 to pos: a list made at p0 with a margin (skin)
    holds while this stays within the margin's share (the compiled lists of the safety layer,
    the formation spread and the run metrics)."""
    far = 0.0
    for i in range(len(pos)):
        dx, dy, dz = pos[i, 0] - p0[i, 0], pos[i, 1] - p0[i, 1], pos[i, 2] - p0[i, 2]
        far = max(far, dx * dx + dy * dy + dz * dz)
    return np.sqrt(far)


def _grow_impl(a, cap):
    """`a` copied into the front of a new array of `cap` elements (a list that outgrew its room)."""
    b = np.empty(cap, a.dtype)
    b[:len(a)] = a
    return b


_keep = jit(_keep_loop, fallback=_keep_impl)
grow = jit(_grow_impl)
farthest_move = jit(_farthest_move, inline="always")   # array arguments: no call, no refcounts
_cell_keys = jit(_cell_keys_impl, nogil=True)
