"""A Verlet neighbour list: pairs within `radius`, from a KD-tree rebuilt only now and then.

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
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

_EMPTY = np.zeros(0, dtype=np.intp)


def sorted_pairs_within(pos: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """All unordered pairs i < j within `radius` (KD-tree), sorted by (i, j)."""
    if len(pos) < 2:
        return _EMPTY, _EMPTY
    p = cKDTree(pos).query_pairs(radius, output_type="ndarray")
    n = len(pos)
    key = p[:, 0] * n + p[:, 1]          # one sort of int64 keys is faster than a lexsort
    key.sort()
    i = key // n
    return i, key - i * n


class VerletPairs:
    def __init__(self, radius: float, skin: float):
        if not radius > 0 or not skin >= 0:
            raise ValueError(f"Verlet list needs radius > 0 and skin >= 0, got {radius!r}, {skin!r}")
        self.radius, self.skin = float(radius), float(skin)
        self.ref: np.ndarray | None = None
        self.pi = self.pj = _EMPTY
        self.builds = 0

    def pairs(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A superset of the pairs of `pos` within `radius` (rebuilding the list if it is stale)."""
        if self.ref is None or len(self.ref) != len(pos) or self._stale(pos):
            self.ref = pos.copy()
            self.pi, self.pj = sorted_pairs_within(pos, self.radius + self.skin)
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
        new_index = np.cumsum(mask) - 1
        both = mask[self.pi] & mask[self.pj]
        self.pi, self.pj = new_index[self.pi[both]], new_index[self.pj[both]]
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
