"""BCD-CAO: each drone improves a team cost that can be measured but not written down.

After Kapoutsis, Chatzichristofis and Kosmatopoulos (IJRR 2019). Every agent keeps a short
window of (own decision, own sub-cost) pairs, where its sub-cost J_i only accumulates the
change of the team cost J that this agent caused (the counterfactual contribution
Delta_i = J(x) - J(x with x_i un-moved), computed by whoever can evaluate J). It fits a
linear-in-the-parameters cubic polynomial of its own decision to that window by minimum-norm
least squares, draws random candidate moves of linearly decaying amplitude, drops those that
break a constraint, and moves to the candidate the model predicts best ("stay" included, so an
uninformative model keeps the agent where it is). Agents never share models, so they can
join or leave at any time: each just starts or stops its own window.

`CAOTeam` holds N agents as arrays and steps them together; one agent is a team of one and
computes the same numbers, because every agent draws from its own random generator and the
fits use the same fixed-size (zero-padded) window in both cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Callable, Sequence

import numpy as np

# feasible(rows, candidates) -> mask: rows (N,) are agent indices into the caller's arrays,
# candidates (N, C, d) decisions; True where a candidate satisfies every constraint.
Feasibility = Callable[[np.ndarray, np.ndarray], np.ndarray]


def monomial_exponents(d: int, order: int = 3) -> np.ndarray:
    """Exponents (P, d) of every monomial of total degree 1..order, then the constant.

    d = 2 gives the full cubic in (x, y): 9 monomials + 1, as in the authors' code; d = 3
    gives 19 + 1. (The reference code draws a random subset for d > 2; we keep them all.)
    """
    rows = []
    for deg in range(1, order + 1):
        for combo in combinations_with_replacement(range(d), deg):
            rows.append(np.bincount(combo, minlength=d))
    rows.append(np.zeros(d, dtype=int))
    return np.array(rows, dtype=int)


def regressor(x: np.ndarray, exps: np.ndarray) -> np.ndarray:
    """Monomials of decisions x (..., d) -> (..., P)."""
    x = np.asarray(x, float)
    order = int(exps.max()) if exps.size else 0
    powers = x[..., None] ** np.arange(order + 1)          # (..., d, order + 1)
    out = np.ones(x.shape[:-1] + (len(exps),))
    for axis in range(exps.shape[1]):
        out *= powers[..., axis, :][..., exps[:, axis]]
    return out


@dataclass(frozen=True)
class CAOParams:
    """Tuning of the optimiser, in decision units (the authors' testbeds: the unit square).

    step_max/step_min: perturbation amplitude (decision units, every axis) at iteration 0 and
    at `horizon`, decaying linearly in between and held at step_min afterwards (authors:
    1.2*dt and 0.009*dt with dt = 0.01).
    window: T_w; the window holds T_w + 1 samples. redraws: rounds in which infeasible
    candidates are drawn again (bounded, so an empty feasible set cannot loop forever).
    scale: per-axis length that decisions are divided by before the polynomial fit, which keeps
    the cubic well conditioned for decisions in metres (1 = the raw decisions, as the authors).
    centre: fit the window's sub-costs minus their mean. Only differences between candidates
    matter, but a minimum-norm fit is not invariant to a constant offset of J_i (which is an
    arbitrary J(0)): without centring, a large offset tilts every model towards the origin of
    the decision space. The authors do not centre (False reproduces their figures); missions do.
    """
    window: int = 5
    candidates: int = 400
    step_max: float = 0.012
    step_min: float = 0.00009
    horizon: int = 300
    redraws: int = 0
    order: int = 3
    scale: tuple | float = 1.0
    centre: bool = False

    def amplitude(self, k: np.ndarray | int) -> np.ndarray:
        frac = np.minimum(np.asarray(k, float), self.horizon) / self.horizon
        return self.step_max - (self.step_max - self.step_min) * frac


class CAOTeam:
    """N CAO agents stepped as one batch. Row r is agent r; `seeds[r]` seeds its generator.

    `exponents` (P, d): the monomials of the regressor, for decisions too long for the full
    polynomial of degree `params.order` (default: that full polynomial).
    """

    def __init__(self, params: CAOParams, x0: np.ndarray, seeds: Sequence[int], exponents: np.ndarray | None = None):
        self.params = p = params
        self.x = np.array(x0, float, ndmin=2)
        n, d = self.x.shape
        self.exps = monomial_exponents(d, p.order) if exponents is None else np.asarray(exponents, int)
        if self.exps.ndim != 2 or self.exps.shape[1] != d:
            raise ValueError(f"exponents must have shape (P, {d}), got {self.exps.shape}")
        self.scale = np.broadcast_to(np.asarray(p.scale, float), (d,)).copy()
        w = p.window + 1
        self.hist_x = np.zeros((n, w, d))                 # oldest first; zero rows beyond `count`
        self.hist_j = np.zeros((n, w))
        self.count = np.zeros(n, dtype=np.intp)
        self.sub_cost = np.full(n, np.nan)                # J_i; NaN until the first measurement
        self.k = np.zeros(n, dtype=np.intp)               # each agent's own iteration count
        self.rngs = [np.random.default_rng(int(s)) for s in seeds]
        if len(self.rngs) != n:
            raise ValueError(f"{n} agents need {n} seeds, got {len(self.rngs)}")

    @property
    def n(self) -> int:
        return len(self.x)

    def _rows(self, rows) -> np.ndarray:
        return np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.intp)

    def record(self, delta: np.ndarray, cost: np.ndarray, rows=None) -> None:
        """Agents' Delta_i(k) and the team cost J(k) measured at their current decisions.

        J_i(k) = J_i(k-1) + Delta_i(k), with J_i(-1) = J at the agent's first measurement.
        `rows`: the agents measured (default all).
        """
        rows = self._rows(rows)
        delta, cost = np.broadcast_to(delta, rows.shape), np.broadcast_to(cost, rows.shape)
        sub = self.sub_cost[rows]
        self.sub_cost[rows] = np.where(np.isnan(sub), cost, sub) + delta
        w = self.hist_j.shape[1]
        full = rows[self.count[rows] == w]
        self.hist_x[full] = np.roll(self.hist_x[full], -1, axis=1)
        self.hist_j[full] = np.roll(self.hist_j[full], -1, axis=1)
        slot = np.minimum(self.count[rows], w - 1)
        self.hist_x[rows, slot] = self.x[rows]
        self.hist_j[rows, slot] = self.sub_cost[rows]
        self.count[rows] = np.minimum(self.count[rows] + 1, w)

    def fit(self, rows=None) -> np.ndarray:
        """theta (R, P): minimum-norm least squares of each agent's window (pinv, as T_w + 1
        samples are usually fewer than the P parameters)."""
        rows = self._rows(rows)
        count = self.count[rows]
        phi = regressor(self.hist_x[rows] / self.scale, self.exps)          # (R, W, P)
        used = np.arange(self.hist_j.shape[1]) < count[:, None]
        phi *= used[..., None]
        j = self.hist_j[rows]
        if self.params.centre:
            j = j - (j * used).sum(axis=1, keepdims=True) / np.maximum(count, 1)[:, None]
        return np.einsum("npw,nw->np", np.linalg.pinv(phi), j * used)

    def candidates(self, rows=None) -> np.ndarray:
        """(R, M + 1, d): each agent's current decision first, then M random perturbations."""
        rows = self._rows(rows)
        p, d = self.params, self.x.shape[1]
        amp = p.amplitude(self.k[rows])[:, None, None]
        u = np.array([self.rngs[r].uniform(-1.0, 1.0, (p.candidates, d)) for r in rows]).reshape(len(rows), -1, d)
        x = self.x[rows, None]
        return np.concatenate([x, x + amp * u], axis=1)

    def propose(self, feasible: Feasibility | None = None, rows=None) -> np.ndarray:
        """Agents' next decisions (R, d), which become their current decisions.

        `feasible(rows, candidates)` gets the team rows the candidates belong to."""
        rows = self._rows(rows)
        theta = self.fit(rows)
        cand = self.candidates(rows)
        ok = np.ones(cand.shape[:2], dtype=bool) if feasible is None else feasible(rows, cand)
        amp = self.params.amplitude(self.k[rows])
        for _ in range(self.params.redraws):                 # bounded redraws of infeasible moves
            bad = ~ok[:, 1:]
            redo = np.nonzero(bad.any(axis=1))[0]
            if not len(redo):
                break
            for i in redo:
                r, m = rows[i], int(bad[i].sum())
                cand[i, 1:][bad[i]] = self.x[r] + amp[i] * self.rngs[r].uniform(-1.0, 1.0, (m, self.x.shape[1]))
            ok[redo] = feasible(rows[redo], cand[redo])
        pred = np.einsum("ncp,np->nc", regressor(cand / self.scale, self.exps), theta)
        pred[~ok] = np.inf
        best = np.argmin(pred, axis=1)                       # first minimum: ties stay put
        self.x[rows] = cand[np.arange(len(rows)), best]
        self.k[rows] += 1
        return self.x[rows].copy()

    def step(self, delta, cost, feasible: Feasibility | None = None, rows=None) -> np.ndarray:
        self.record(delta, cost, rows)
        return self.propose(feasible, rows)

    def extend(self, x0: np.ndarray, seeds: Sequence[int]) -> None:
        """Agents joining the team: fresh windows, their first measurement sets their J_i."""
        new = CAOTeam(self.params, x0, seeds, self.exps)
        for name in ("x", "hist_x", "hist_j", "count", "sub_cost", "k"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))
        self.rngs += new.rngs

    def rows(self, index) -> "CAOTeam":
        """A new team of the agents in `index` (their windows, generators and counters move along)."""
        index = np.asarray(index, dtype=np.intp)
        out = object.__new__(CAOTeam)
        out.params, out.exps, out.scale = self.params, self.exps, self.scale
        out.x, out.hist_x, out.hist_j = self.x[index], self.hist_x[index], self.hist_j[index]
        out.count, out.sub_cost, out.k = self.count[index], self.sub_cost[index], self.k[index]
        out.rngs = [self.rngs[i] for i in index]
        return out
