"""The authors' reference testbeds for CAO, defined exactly as in their published code.

HoldTheLine: robots cover 2,000 points of a curve in the unit square. AdaptiveCoverage2D:
Schwager, Rus and Slotine's adaptive coverage (2009) used as a black box: the cost weighs
each grid point's distance to its Voronoi robot by a sensory density that the team learns
from its own point measurements while it moves (so the cost changes state as it is measured).
"""
from __future__ import annotations

import numpy as np

from .cao import CAOParams
from .cao_testbed import Testbed


class HoldTheLine(Testbed):
    """J = sum over points of the distance to the nearest robot, plus k_w times each idle
    robot's distance to the curve (an idle robot is nearest to no point); k_w = 2000/25."""
    params = CAOParams(window=5, candidates=400, step_max=1.2 * 0.01, step_min=0.009 * 0.01, horizon=300)
    iterations = 300

    def __init__(self, n_points: int = 2000):
        y = np.arange(n_points) / n_points
        self.points = np.column_stack([4 * y**4 - 12 * y**3 + 10 * y**2 - 2 * y + 0.55, y])
        self.k_idle = n_points / 25

    def _cost_from(self, dist: np.ndarray) -> float:
        nearest = np.argmin(dist, axis=1)
        idle = np.bincount(nearest, minlength=dist.shape[1]) == 0
        return float(dist.min(axis=1).sum() + self.k_idle * dist.min(axis=0)[idle].sum())

    def _distances(self, x: np.ndarray) -> np.ndarray:
        """(P, N) distances from every point to every robot."""
        return np.hypot(self.points[:, :1] - x[:, 0], self.points[:, 1:] - x[:, 1])

    def cost(self, x: np.ndarray) -> float:
        return self._cost_from(self._distances(x))

    def what_ifs(self, x: np.ndarray, x_prev: np.ndarray) -> np.ndarray:
        """All N counterfactuals at once from each point's nearest and second-nearest robot
        (same ties as argmin: the lower index wins)."""
        n, npts = len(x), len(self.points)
        if n == 1:
            return np.array([self.cost(x_prev)])
        dist, back = self._distances(x), self._distances(x_prev)   # back[:, i]: robot i un-moved
        rows = np.arange(npts)
        a1 = np.argmin(dist, axis=1)
        b1 = dist[rows, a1]
        dist[rows, a1] = np.inf
        a2 = np.argmin(dist, axis=1)
        b2 = dist[rows, a2]
        dist[rows, a1] = b1
        agents = np.arange(n)[None, :]
        mine = a1[:, None] == agents                                            # (P, N): i was nearest
        rival_d = np.where(mine, b2[:, None], b1[:, None])
        rival_a = np.where(mine, a2[:, None], a1[:, None])
        wins = (back < rival_d) | ((back == rival_d) & (agents < rival_a))
        total = np.where(wins, back, rival_d).sum(axis=0)                       # (N,)
        nearest = np.where(wins, agents, rival_a)                               # (P, N)
        counts = np.bincount((nearest + agents * n).ravel(), minlength=n * n).reshape(n, n)
        col_min = np.broadcast_to(dist.min(axis=0), (n, n)).copy()
        col_min[np.arange(n), np.arange(n)] = back.min(axis=0)
        return total + self.k_idle * ((counts == 0) * col_min).sum(axis=1)


def _grid(q: int) -> np.ndarray:
    """(q*q, 2) points (i/(q+1), j/(q+1)), i, j = 1..q, i outer (the authors' ordering)."""
    i, j = np.meshgrid(np.arange(1, q + 1), np.arange(1, q + 1), indexing="ij")
    return np.column_stack([i.ravel(), j.ravel()]) / (q + 1.0)


class AdaptiveCoverage2D(Testbed):
    """J = 1/2 sum_q |q - p_V(q)| * K(q)' a_hat over a 15x15 grid, V the nearest robot.

    49 Gaussian bases (variance 0.02) on a 7x7 grid; true weights 0.1 but 100 at two bases.
    After each measured cost the team estimate a_hat takes one gradient step with every robot's
    point measurement (gain g, step dt, projected at a_min). Measurement weights: robot 0 gets
    1, robot r >= 1 the number of closed Voronoi neighbours it shares with robot r - 1, as the
    authors' code does (`weights="reference"`); `weights="uniform"` gives every robot 1.
    """
    params = CAOParams(window=30, candidates=200, step_max=1.2 * 0.01, step_min=0.8 * 0.01, horizon=800)
    iterations = 800
    variance, a_min, gain, dt = 0.02, 0.1, 0.01, 0.01
    side = 15

    def __init__(self, weights: str = "reference"):
        if weights not in ("reference", "uniform"):
            raise ValueError(f"weights must be 'reference' or 'uniform', got {weights!r}")
        self.weights = weights
        self.q = _grid(self.side)
        self.centres = _grid(7)
        self.kq = self.kernel(self.q)                           # (225, 49)
        self.a_true = np.full(len(self.centres), self.a_min)
        self.a_true[[0, 15]] = 100.0
        self.a_hat = np.full(len(self.centres), self.a_min)
        self.big_lambda = np.zeros((len(self.centres), len(self.centres)))
        self.small_lambda = np.zeros(len(self.centres))

    def kernel(self, p: np.ndarray) -> np.ndarray:
        d2 = ((p[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        return np.exp(-0.5 * d2 / self.variance) / (2 * np.pi * self.variance)

    def _voronoi(self, x: np.ndarray) -> np.ndarray:
        return np.argmin(((self.q[:, None, :] - x[None]) ** 2).sum(axis=2), axis=1)

    def what_if(self, x: np.ndarray) -> float:
        v = self._voronoi(x)
        return 0.5 * float((np.linalg.norm(self.q - x[v], axis=1) * (self.kq @ self.a_hat)).sum())

    def _adjacency(self, v: np.ndarray, n: int) -> np.ndarray:
        """Closed Voronoi adjacency on the grid (8-neighbourhood), identity on the diagonal."""
        a = v.reshape(self.side, self.side)
        adj = np.eye(n)
        for di, dj in ((1, -1), (1, 0), (1, 1), (0, 1)):
            i0, i1 = max(0, -di), self.side - max(0, di)
            j0, j1 = max(0, -dj), self.side - max(0, dj)
            src, dst = a[i0:i1, j0:j1].ravel(), a[i0 + di:i1 + di, j0 + dj:j1 + dj].ravel()
            differ = src != dst
            adj[src[differ], dst[differ]] = adj[dst[differ], src[differ]] = 1.0
        return adj

    def cost(self, x: np.ndarray) -> float:
        j = self.what_if(x)
        n = len(x)
        w = np.ones(n)
        if self.weights == "reference" and n > 1:
            adj = self._adjacency(self._voronoi(x), n)
            w[1:] = (adj[:-1] * adj[1:]).sum(axis=1)
        k = self.kernel(x)                                     # (N, 49) each robot's measurement basis
        self.big_lambda += (k.T * w) @ k * self.dt
        self.small_lambda += (k.T * w) @ (k @ self.a_true) * self.dt
        dot = -self.gain * (self.big_lambda @ self.a_hat - self.small_lambda)
        trial = self.a_hat + self.dt * dot
        free = (trial > self.a_min) | ((trial == self.a_min) & (dot >= 0))
        self.a_hat = self.a_hat + self.dt * np.where(free, dot, 0.0)
        return j


TESTBEDS = {"HoldTheLine": HoldTheLine, "AdaptiveCoverage2D": AdaptiveCoverage2D}
