"""The testbed plug-in contract for CAO, and the synchronous optimisation loop that runs one.

A testbed is a team objective CAO can optimise without knowing its form. Write one by
subclassing `Testbed`:

    class Spread(Testbed):
        '''Drones on a line should be 1 m apart: J = sum (gap - 1)^2.'''
        d, lo, hi = 1, (0.0,), (10.0,)
        def cost(self, x):                       # the applied cost; may update internal state
            gaps = np.diff(np.sort(x[:, 0]))
            return float(((gaps - 1.0) ** 2).sum())

`cost` is what the team measures after flying decisions x (N, d); it may change the testbed
(learning a density, decaying a coverage map). `what_if` must not: it is the cost the team
would have measured with other decisions, used for each agent's counterfactual contribution.
By default it is `cost`, which is right for stateless testbeds only. `feasible` is the
testbed's own constraint on a decision (default: inside the box lo..hi); separation between
agents is added by the loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cao import CAOParams, CAOTeam


class Testbed:
    d: int = 2
    lo: tuple = (0.0, 0.0)
    hi: tuple = (1.0, 1.0)
    params = CAOParams()       # the tuning the testbed's authors used
    iterations = 300

    def cost(self, x: np.ndarray) -> float:
        raise NotImplementedError

    def what_if(self, x: np.ndarray) -> float:
        return self.cost(x)

    def what_ifs(self, x: np.ndarray, x_prev: np.ndarray) -> np.ndarray:
        """J with agent i alone back at x_prev[i], for every i: (N,)."""
        out = np.empty(len(x))
        for i in range(len(x)):
            alt = x.copy()
            alt[i] = x_prev[i]
            out[i] = self.what_if(alt)
        return out

    def feasible(self, cand: np.ndarray) -> np.ndarray:
        return np.all((cand >= np.asarray(self.lo)) & (cand <= np.asarray(self.hi)), axis=-1)

    def initial(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Random initial decisions in the box (the authors' `randomID`)."""
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        return lo + (hi - lo) * rng.random((n, self.d))


def agent_seed(seed: int, agent: int) -> int:
    """The seed of agent `agent`'s generator in a run seeded `seed` (independent streams)."""
    return int(np.random.SeedSequence([seed, agent]).generate_state(1)[0])


@dataclass
class CAORun:
    costs: list = field(default_factory=list)          # J(k) per iteration
    decisions: list = field(default_factory=list)      # x(k) per iteration (rows: agents present)
    agents: list = field(default_factory=list)         # agent ids present per iteration

    @property
    def final_cost(self) -> float:
        return self.costs[-1]


def separation_filter(testbed: Testbed, team_x: np.ndarray, min_separation: float):
    """Feasibility: the testbed's constraint and, if min_separation > 0, distance to every other
    agent's last known decision (team_x at the time the candidates are drawn)."""
    def feasible(rows: np.ndarray, cand: np.ndarray) -> np.ndarray:
        ok = testbed.feasible(cand)
        if min_separation > 0 and len(team_x) > 1:
            dist = np.linalg.norm(cand[:, :, None, :] - team_x[None, None, :, :], axis=-1)   # (R, C, N)
            dist[np.arange(len(rows)), :, rows] = np.inf                                   # not to itself
            ok &= dist.min(axis=-1) >= min_separation
        return ok
    return feasible


def optimise(testbed: Testbed, x0: np.ndarray, *, iterations: int | None = None, seed: int = 0,
             params: CAOParams | None = None, min_separation: float = 0.0,
             leave: dict | None = None, join: dict | None = None) -> CAORun:
    """Run BCD-CAO on `testbed` from decisions x0 (N, d), every agent synchronous.

    Plug-n-play: `leave` {iteration: [agent ids]} removes agents before that iteration's
    measurement; `join` {iteration: [(agent id, x0)]} adds agents with empty windows.
    """
    params = params or testbed.params
    iterations = iterations or testbed.iterations
    x = np.array(x0, float, ndmin=2)
    ids = list(range(len(x)))
    team = CAOTeam(params, x, [agent_seed(seed, i) for i in ids])
    x_prev = x.copy()
    run = CAORun()
    for k in range(iterations):
        if leave and k in leave:
            keep = [r for r, a in enumerate(ids) if a not in set(leave[k])]
            team, x, x_prev, ids = team.rows(keep), x[keep], x_prev[keep], [ids[r] for r in keep]
        if join and k in join:
            new_ids, new_x = [a for a, _ in join[k]], np.array([p for _, p in join[k]], float)
            team.extend(new_x, [agent_seed(seed, a) for a in new_ids])
            x, x_prev, ids = np.vstack([x, new_x]), np.vstack([x_prev, new_x]), ids + new_ids
        j = testbed.cost(x)
        deltas = j - testbed.what_ifs(x, x_prev)
        run.costs.append(float(j))
        run.decisions.append(x.copy())
        run.agents.append(list(ids))
        team.record(deltas, j)
        x_prev = x
        x = team.propose(separation_filter(testbed, x, min_separation))
    return run
