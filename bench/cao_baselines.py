"""BCD-CAO (ours) and the baselines it is compared with, on a `Problem` (bench/cao_problems.py).

Every method runs the same iteration loop: apply the team's decisions x(k) and measure J(k)
(`testbed.cost`, which may change a stateful testbed), then choose x(k + 1). Every method
moves each drone by at most its role's amplitude c(k) per axis and per iteration, and only
applies configurations that satisfy the problem's constraints.

- `bcd_cao` (ours): decentralized BCD-CAO, one CAOTeam per role as on board, each agent fed its
  counterfactual contribution Delta_i. With one role it computes exactly what
  `swarm_ros.control.cao_testbed.optimise` computes.
- `centralized_cao` (Renzaglia et al. 2012): ONE CAO agent whose decision is the stacked
  vector of all N drones' decisions, fitted to J itself. A full cubic in N*d variables has
  C(N*d + 3, 3) terms, so, as the authors' code does for d > 2, the regressor is a fixed random
  subset: every linear and square term, N*d random cross/cubic terms (half x_a x_b, half
  degree-3 products), and the constant.
- `random_search` (general-purpose): each iteration every drone draws a uniform perturbation
  of amplitude c(k); the new team configuration is kept only if its what-if cost (evaluated
  under the testbed's current state, side-effect free, as CAO's contributions are) is lower
  than staying: a (1+1) random search with greedy acceptance.
- `lloyd` (problem-specific): each drone moves towards the weighted centroid of its Voronoi
  cell over the problem's points (`Problem.points`); a drone with an empty or weightless cell
  heads for the nearest point of positive weight. 3-D decisions keep the middle of the band.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial import cKDTree

from swarm_ros.control.cao import CAOTeam
from swarm_ros.control.cao_testbed import agent_seed

from cao_problems import Problem

SHRINK = (1.0, 0.5, 0.25)         # Lloyd: step fractions tried before a drone stays put
CENTRAL_WINDOW = 30               # centralized CAO: least window


@dataclass
class MethodRun:
    method: str
    costs: list = field(default_factory=list)       # J(k), k = 0 .. iterations - 1, as applied and measured
    decisions: list = field(default_factory=list)   # x(k) applied at each iteration
    x: np.ndarray | None = None   # the decisions chosen after the last measurement
    opt_s: float = 0.0            # seconds in the method itself (model, candidates, feasibility)
    cost_s: float = 0.0           # seconds evaluating J (applied and what-if)
    evaluations: int = 0          # evaluations of J (applied and what-if)

    @property
    def final_cost(self) -> float:
        return self.costs[-1]

    @contextmanager
    def timing(self, name: str):
        """Adds the wall seconds of the block to `opt_s` or `cost_s`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, name, getattr(self, name) + time.perf_counter() - t0)


def iterate(problem: Problem, method: str, iterations: int | None, choose) -> MethodRun:
    """The loop every method shares: apply x(k) and measure J(k) (`testbed.cost`, timed as
    cost), then x(k + 1) = choose(k, testbed, x(k), J(k), run)."""
    tb, run = problem.make(), MethodRun(method)
    x = problem.x0.copy()
    for k in range(iterations or problem.iterations):
        with run.timing("cost_s"):
            j = tb.cost(x)
        run.costs.append(float(j))
        run.decisions.append(x.copy())
        run.evaluations += 1
        x = choose(k, tb, x, j, run)
    run.x = x
    return run


def settle_iteration(costs, tol: float = 0.05) -> int:
    """First iteration from which J stays within tol of its own final value."""
    c = np.asarray(costs, float)
    off = np.abs(c - c[-1]) > tol * abs(c[-1])
    return int(np.nonzero(off)[0][-1] + 1) if off.any() else 0


def bcd_cao(problem: Problem, seed: int = 0, iterations: int | None = None) -> MethodRun:
    teams = [(rows, CAOTeam(problem.params[rows[0]], problem.x0[rows], [agent_seed(seed, int(r)) for r in rows]))
             for rows in problem.groups()]
    last = [problem.x0.copy()]                                    # x(k - 1)

    def choose(k, tb, x, j, run):
        with run.timing("cost_s"):
            deltas = j - tb.what_ifs(x, last[0])
        run.evaluations += problem.n
        with run.timing("opt_s"):
            feasible, new = problem.agent_feasibility(x), x.copy()
            for rows, team in teams:
                team.record(deltas[rows], j)
                new[rows] = team.propose(lambda r, c, rows=rows: feasible(rows[r], c))
        last[0] = x
        return new

    return iterate(problem, "BCD-CAO (ours)", iterations, choose)


def sparse_cubic(dim: int, rng: np.random.Generator) -> np.ndarray:
    """Exponents (3 dim + 1, dim): every x_a and x_a^2, dim random distinct cross/cubic terms
    (half of degree 2, half of degree 3), then the constant."""
    eye = np.eye(dim, dtype=int)
    chosen: list = []
    for degree, count in ((2, dim // 2), (3, dim - dim // 2)):
        picked: set = set()
        while len(picked) < count:
            e = tuple(np.bincount(rng.integers(0, dim, degree), minlength=dim))
            if degree == 3 or max(e) == 1:                 # degree 2: cross terms (squares are in)
                picked.add(e)
        chosen += sorted(picked)
    return np.vstack([eye, 2 * eye, np.array(chosen, int).reshape(-1, dim), np.zeros((1, dim), int)])


def centralized_cao(problem: Problem, seed: int = 0, iterations: int | None = None,
                    window: int | None = None) -> MethodRun:
    """One agent over the stacked decision, M candidates (one drone's M) per iteration.

    Window: `window`, default the problem's but at least CENTRAL_WINDOW (its model has about
    3 N d parameters; 30 did better than 5 or 60 on HoldTheLine, AdaptiveCoverage2D and
    surveillance). Drones with different amplitudes: the agent works on each drone's decision
    divided by its role's step_max, keeping the largest ratio step_min/step_max of the roles
    (so no drone's floor amplitude is below its role's)."""
    n, d = problem.n, problem.d
    ref = problem.params[0]
    w = np.repeat([p.step_max for p in problem.params], d)                      # (N d,)
    span = np.concatenate([np.broadcast_to(np.asarray(p.scale, float), (d,)) for p in problem.params])
    params = replace(ref, step_max=1.0, step_min=max(p.step_min / p.step_max for p in problem.params),
                     horizon=max(p.horizon for p in problem.params), scale=tuple(span / w),
                     window=window or max(ref.window, CENTRAL_WINDOW), redraws=max(p.redraws for p in problem.params))
    rng = np.random.default_rng(agent_seed(seed, 10_000))
    agent = CAOTeam(params, (problem.x0.ravel() / w)[None], [agent_seed(seed, 0)], sparse_cubic(n * d, rng))

    def feasible(rows, cand):
        return problem.configs_ok((cand[0] * w).reshape(-1, n, d))[None]

    prev = [None]                                                 # J(k - 1)

    def choose(k, tb, x, j, run):
        with run.timing("opt_s"):
            agent.record(0.0 if prev[0] is None else j - prev[0], j)  # so that J_i(k) = J(k)
            prev[0] = j
            return (agent.propose(feasible)[0] * w).reshape(n, d)

    return iterate(problem, "centralized CAO", iterations, choose)


def random_search(problem: Problem, seed: int = 0, iterations: int | None = None) -> MethodRun:
    rng = np.random.default_rng(agent_seed(seed, 20_000))
    rows, redraws = np.arange(problem.n), max(p.redraws for p in problem.params)

    def choose(k, tb, x, j, run):
        with run.timing("opt_s"):
            amp = problem.amplitude(k)[:, None]
            trial = x + amp * rng.uniform(-1.0, 1.0, x.shape)
            for _ in range(redraws):                                            # bounded, per drone
                bad = ~problem.unary(rows, trial[:, None])[:, 0]
                if not bad.any():
                    break
                trial[bad] = x[bad] + amp[bad] * rng.uniform(-1.0, 1.0, (int(bad.sum()), problem.d))
            trial = problem.repair(trial, x)
        with run.timing("cost_s"):
            better = tb.what_if(trial) < tb.what_if(x)
        run.evaluations += 2
        return trial if better else x

    return iterate(problem, "random search", iterations, choose)


def lloyd_targets(problem: Problem, tb, x: np.ndarray) -> np.ndarray:
    """Each drone's Voronoi-cell centroid (x, y) over the problem's weighted points; 3-D
    decisions get the middle of their altitude band."""
    pts, wts = problem.points(tb)
    owner = cKDTree(x[:, :2]).query(pts)[1]
    n = problem.n
    mass = np.bincount(owner, wts, n)
    target = x.copy()
    for axis in range(2):
        target[:, axis] = np.bincount(owner, wts * pts[:, axis], n) / np.where(mass > 0, mass, 1.0)
    empty = mass <= 0
    if empty.any() and (wts > 0).any():
        live = pts[wts > 0]
        target[empty, :2] = live[cKDTree(live).query(x[empty, :2])[1]]
    elif empty.any():
        target[empty, :2] = x[empty, :2]
    if problem.d == 3:
        target[:, 2] = (problem.lo[:, 2] + problem.hi[:, 2]) / 2
    return target


def lloyd(problem: Problem, seed: int = 0, iterations: int | None = None) -> MethodRun:
    """Deterministic (`seed` unused). Step towards the target, scaled so no axis moves more
    than c(k); a move its own constraints forbid is shortened (halves), then given up."""
    rows = np.arange(problem.n)

    def choose(k, tb, x, j, run):
        with run.timing("opt_s"):
            step = lloyd_targets(problem, tb, x) - x
            amp = problem.amplitude(k)
            step *= np.minimum(1.0, amp / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
            trial, todo = x.copy(), np.ones(problem.n, dtype=bool)
            for f in SHRINK:
                cand = x + f * step
                ok = todo & problem.unary(rows, cand[:, None])[:, 0]
                trial[ok], todo = cand[ok], todo & ~ok
            return problem.repair(trial, x)

    return iterate(problem, "Lloyd/Voronoi", iterations, choose)


METHODS = {"ours": bcd_cao, "centralized": centralized_cao, "random": random_search, "lloyd": lloyd}
