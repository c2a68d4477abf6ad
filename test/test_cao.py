"""CAO (BCD-CAO): the optimiser, the testbed contract, plug-n-play and the reference testbeds."""
import json
import subprocess
import sys

import numpy as np
import pytest

from swarm_ros.control.cao import CAOParams, CAOTeam, monomial_exponents, regressor
from swarm_ros.control.cao_reference import AdaptiveCoverage2D, HoldTheLine
from swarm_ros.control.cao_testbed import Testbed, optimise

# The authors' recorded averages of J(299) (their validator), N = 2 ... 20.
HOLD_THE_LINE = {2: 303.85, 4: 164.79, 6: 113.97, 8: 86.79, 10: 69.57, 12: 58.09, 14: 50.03, 16: 43.90,
                 18: 39.20, 20: 35.59}


class Goals(Testbed):
    """Separable quadratic: J = sum_i |x_i - g_i|^2, each agent has its own goal."""
    iterations = 200
    params = CAOParams(window=5, candidates=100, step_max=0.05, step_min=0.01, horizon=200)

    def __init__(self, goals):
        self.goals = np.asarray(goals, float)
        self.seen = []            # (J, what-ifs) of every measurement

    def cost(self, x):
        return float(((x - self.goals[: len(x)]) ** 2).sum())

    def what_ifs(self, x, x_prev):
        out = super().what_ifs(x, x_prev)
        self.seen.append((self.cost(x), out))
        return out


def test_cubic_regressor_has_every_monomial_up_to_degree_three():
    e2 = monomial_exponents(2)
    assert len(e2) == 10 and len({tuple(r) for r in e2}) == 10 and e2.sum(axis=1).max() == 3
    assert (e2[-1] == 0).all()                                    # the constant
    assert len(monomial_exponents(3)) == 20
    phi = regressor(np.array([[2.0, 3.0]]), e2)[0]
    expected = {tuple(r): 2.0 ** r[0] * 3.0 ** r[1] for r in e2}
    assert np.allclose(phi, [expected[tuple(r)] for r in e2])


def test_an_agent_without_information_stays_put():
    # The authors' fit: a zero sub-cost history gives a zero model, every candidate ties and
    # the first one (stay) wins.
    team = CAOTeam(CAOParams(window=5, candidates=200, step_max=0.1), [[0.4, 0.6]], seeds=[3])
    for _ in range(12):
        assert np.array_equal(team.step(0.0, 0.0), [[0.4, 0.6]])
    # Centred fits stay put for any constant sub-cost; the authors' minimum-norm fit of an
    # offset history tilts the model and the agent drifts.
    centred = CAOTeam(CAOParams(window=5, candidates=200, step_max=0.1, centre=True), [[0.4, 0.6]], seeds=[3])
    raw = CAOTeam(CAOParams(window=5, candidates=200, step_max=0.1), [[0.4, 0.6]], seeds=[3])
    for _ in range(12):
        assert np.array_equal(centred.step(0.0, 7.0), [[0.4, 0.6]])
        raw.step(0.0, 7.0)
    assert not np.array_equal(raw.x, [[0.4, 0.6]])


def test_every_agent_reaches_its_own_goal_on_a_separable_quadratic():
    goals = [[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]]
    testbed = Goals(goals)
    run = optimise(testbed, [[0.5, 0.1], [0.1, 0.1], [0.9, 0.9]], seed=1)
    assert np.linalg.norm(run.decisions[-1] - np.array(goals), axis=1).max() < 0.03
    assert run.final_cost < 0.01 * run.costs[0]


def test_sum_of_contributions_equals_the_cost_change_for_separable_costs():
    testbed = Goals([[0.2, 0.8], [0.7, 0.3], [0.5, 0.5], [0.1, 0.1]])
    optimise(testbed, np.random.default_rng(0).random((4, 2)), iterations=60, seed=4)
    for (j_prev, _), (j, what_ifs) in zip(testbed.seen, testbed.seen[1:]):
        assert np.isclose((j - what_ifs).sum(), j - j_prev, rtol=0, atol=1e-12)
    assert abs(testbed.seen[-1][0] - testbed.seen[0][0]) > 0.1     # the team did move


class Walled(Goals):
    """The goal lies behind a forbidden disk: the straight way is infeasible."""
    centre, radius = np.array([0.5, 0.5]), 0.2

    def feasible(self, cand):
        return super().feasible(cand) & (np.linalg.norm(cand - self.centre, axis=-1) >= self.radius)


@pytest.mark.parametrize("redraws", [0, 3])
def test_infeasible_candidates_are_never_chosen(redraws):
    testbed = Walled([[0.8, 0.8], [0.2, 0.8]])
    testbed.params = CAOParams(window=5, candidates=60, step_max=0.08, step_min=0.02, horizon=150, redraws=redraws)
    run = optimise(testbed, [[0.2, 0.2], [0.8, 0.2]], iterations=150, seed=2, min_separation=0.05)
    path = np.array(run.decisions)                                   # (T, 2, 2)
    assert (np.linalg.norm(path - Walled.centre, axis=-1) >= Walled.radius).all()
    assert (np.linalg.norm(path[:, 0] - path[:, 1], axis=-1) >= 0.05).all()
    assert ((path >= 0) & (path <= 1)).all()
    assert run.final_cost < 0.2 * run.costs[0]                       # it went round, not through


def test_a_team_of_n_computes_what_n_single_agents_compute():
    rng = np.random.default_rng(5)
    params = CAOParams(window=4, candidates=50, step_max=0.05, step_min=0.01, horizon=30)
    x0 = rng.random((6, 2))
    team = CAOTeam(params, x0, seeds=range(10, 16))
    singles = [CAOTeam(params, x0[i:i + 1], seeds=[10 + i]) for i in range(6)]

    def feasible(rows, cand):
        return np.linalg.norm(cand - 0.5, axis=-1) > 0.15

    for _ in range(25):
        delta, cost = rng.normal(size=6), rng.normal() + 10
        batched = team.step(delta, cost, feasible)
        alone = np.vstack([s.step(delta[i], cost, feasible) for i, s in enumerate(singles)])
        np.testing.assert_allclose(batched, alone, rtol=0, atol=1e-12)


def test_killed_agents_leave_and_the_survivors_do_as_well_as_a_fresh_team():
    rng = np.random.default_rng(8)
    x0 = HoldTheLine().initial(8, rng)
    killed = optimise(HoldTheLine(), x0, seed=3, leave={100: [2, 5]})
    fresh = optimise(HoldTheLine(), np.delete(x0, [2, 5], axis=0), seed=3)
    assert killed.agents[-1] == [0, 1, 3, 4, 6, 7]
    assert abs(killed.final_cost / fresh.final_cost - 1) < 0.10
    assert killed.costs[100] > killed.costs[99]                     # losing two robots hurt


def test_a_joining_agent_reduces_the_cost():
    x0 = HoldTheLine().initial(4, np.random.default_rng(2))
    without = optimise(HoldTheLine(), x0, seed=6)
    joined = optimise(HoldTheLine(), x0, seed=6, join={150: [(4, [0.5, 0.5]), (5, [0.9, 0.1])]})
    assert joined.agents[-1] == [0, 1, 2, 3, 4, 5]
    assert joined.final_cost < 0.85 * without.final_cost
    assert np.array_equal(joined.decisions[150][4], [0.5, 0.5])     # joined where it was put


@pytest.mark.parametrize("n", sorted(HOLD_THE_LINE))
def test_hold_the_line_final_cost_matches_the_authors(n):
    # The authors' figures are averages over random starts, and from N = 14 on some runs end
    # in a slightly worse local optimum (N = 20: 34.9 or 36.9), so compare means over seeds:
    # over 10 seeds ours are within 0.3 % of theirs at N = 14 ... 20.
    seeds = range(2 if n <= 10 else 4)
    finals = [optimise(HoldTheLine(), HoldTheLine().initial(n, np.random.default_rng(100 * n + s)), seed=s).final_cost
              for s in seeds]
    assert abs(np.mean(finals) / HOLD_THE_LINE[n] - 1) < 0.03, finals


def test_adaptive_coverage_learns_the_density_and_is_side_effect_free_to_evaluate():
    tb = AdaptiveCoverage2D()
    x = np.random.default_rng(1).random((10, 2))
    before = tb.a_hat.copy()
    assert tb.what_if(x) == tb.what_if(x) and np.array_equal(tb.a_hat, before)
    j0 = tb.cost(x)
    assert not np.array_equal(tb.a_hat, before)                      # measuring updated the estimate
    assert (tb.a_hat >= tb.a_min).all()
    assert np.isclose(j0, 0.5 * (np.linalg.norm(tb.q[:, None] - x[None], axis=2).min(axis=1)
                                 * (tb.kq @ before)).sum())


def test_adaptive_coverage_reference_run_rises_then_settles():
    # The documented shape: J rises from about 108 while a_hat grows, then falls (N = 10).
    x0 = np.random.default_rng(0).random((10, 2)) * [0.5, 1] + [0.5, 0]     # right half-plane
    run = optimise(AdaptiveCoverage2D(), x0, seed=0, iterations=500)
    costs = np.array(run.costs)
    assert costs.max() > 5 * costs[0]
    assert costs[-1] < 0.8 * costs.max()
    assert (np.array(run.decisions[-1])[:, 0] < 0.5).any()          # robots moved towards the peaks (x < 0.5)


def test_cli_reproduces_a_reference_run_and_writes_the_history(tmp_path):
    start = tmp_path / "start.json"
    start.write_text(json.dumps([[0.1, 0.1], [0.15, 0.3], [0.7, 0.01], [0.2, 0.18]]))
    out = tmp_path / "run.json"
    cmd = [sys.executable, "-m", "swarm_ros.cli", "cao", "testbed", "HoldTheLine", "--robots", "4",
           "--initial-positions", str(start), "--iterations", "120", "--seed", "2", "--json", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    direct = optimise(HoldTheLine(), np.array(data["initial_positions"]), iterations=120, seed=2)
    assert data["costs"] == direct.costs and len(data["costs"]) == 120
    assert f"{direct.final_cost:.4f}" in res.stdout


@pytest.mark.parametrize("content, message", [
    ("[[0.1, 0.1], [1.5, 0.2]]", "[1]: [1.5, 0.2] is outside the testbed; allowed: a point within"),
    ("[[0.1, 0.1]]", "1 positions for --robots 2; allowed: a list of 2 lists of 2 numbers"),
    ("{not json", "not JSON"),
    ('[["a", 1], [0, 0]]', "got [['a', 1], [0, 0]]; allowed: a list of 2 lists of 2 numbers"),
])
def test_cli_refuses_bad_initial_positions_with_one_line(tmp_path, content, message):
    start = tmp_path / "start.json"
    start.write_text(content)
    res = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "cao", "testbed", "HoldTheLine", "--robots", "2",
                          "--initial-positions", str(start)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and message in res.stderr and str(start) in res.stderr


def test_the_documented_testbed_example_runs():
    # The example in cao_testbed's docstring, executed as written.
    import textwrap
    from swarm_ros.control import cao_testbed
    doc = cao_testbed.__doc__
    code = textwrap.dedent(doc[doc.index("    class Spread"):doc.index("`cost` is what")])
    scope = {"Testbed": Testbed, "np": np}
    exec(code, scope)
    run = optimise(scope["Spread"](), [[1.0], [1.2], [1.4], [5.0]], iterations=150, seed=0,
                   params=CAOParams(window=5, candidates=100, step_max=0.3, step_min=0.05, horizon=150))
    assert run.final_cost < 0.1 * run.costs[0]
