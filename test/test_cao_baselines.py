"""The CAO benchmark's baselines (bench/cao_baselines.py) do what they claim, under the same constraints."""
from pathlib import Path

import numpy as np
import pytest

from cao_baselines import METHODS, bcd_cao, centralized_cao, lloyd, random_search, settle_iteration, sparse_cubic
from cao_problems import Problem, hold_the_line, mission_problem
from sim.world import Cylinder, World
from swarm_ros.control.cao import CAOParams, CAOTeam
from swarm_ros.control.cao_reference import HoldTheLine
from swarm_ros.control.cao_testbed import Testbed, optimise
from swarm_ros.mission import load_mission

GRID = np.stack(np.meshgrid((np.arange(20) + 0.5) / 20, (np.arange(20) + 0.5) / 20, indexing="ij"), -1).reshape(-1, 2)


class Coverage(Testbed):
    """J = mean distance of the unit square's grid points to their nearest robot (uniform density)."""

    def cost(self, x):
        return float(np.linalg.norm(GRID[:, None] - x[None], axis=-1).min(axis=1).mean())


class Goals(Testbed):
    """Separable quadratic: J = sum_i |x_i - g_i|^2."""

    def __init__(self, goals):
        self.goals = np.asarray(goals, float)

    def cost(self, x):
        return float(((x - self.goals) ** 2).sum())


def problem(testbed, x0, params, iterations, **kw) -> Problem:
    x0 = np.asarray(x0, float)
    n, d = x0.shape
    return Problem("tiny", lambda: testbed, x0, [params] * n, np.zeros((n, d)), np.ones((n, d)), iterations, **kw)


def cells_centroids(x):
    """Brute force: centroid of each robot's Voronoi cell over GRID."""
    owner = np.argmin(((GRID[:, None] - x[None]) ** 2).sum(-1), axis=1)
    return np.array([GRID[owner == i].mean(axis=0) for i in range(len(x))])


def test_lloyd_moves_each_robot_to_its_cell_centroid_on_a_uniform_density():
    x0 = [[0.1, 0.1], [0.15, 0.2], [0.9, 0.3], [0.5, 0.8]]
    big = CAOParams(step_max=1.0, step_min=1.0, horizon=10)       # no cap: one step lands on the centroid
    p = problem(Coverage(), x0, big, 2, points=lambda tb: (GRID, np.ones(len(GRID))))
    run = lloyd(p)
    np.testing.assert_allclose(run.decisions[1], cells_centroids(np.array(x0)), atol=1e-12)
    # with the amplitude cap it takes many steps, none longer than c(k) per axis, and ends centroidal
    small = CAOParams(step_max=0.03, step_min=0.01, horizon=40)
    p = problem(Coverage(), x0, small, 120, points=lambda tb: (GRID, np.ones(len(GRID))))
    run = lloyd(p)
    steps = np.abs(np.diff(np.array(run.decisions), axis=0)).max(axis=(1, 2))
    assert (steps <= small.amplitude(np.arange(len(steps))) + 1e-12).all()
    np.testing.assert_allclose(run.decisions[-1], cells_centroids(run.decisions[-1]), atol=2e-3)
    assert run.final_cost < 0.8 * run.costs[0]


def test_random_search_never_increases_a_stateless_cost():
    p = hold_the_line(4, seed=3, iterations=80)
    run = random_search(p, seed=1)
    assert (np.diff(run.costs) <= 0).all()
    assert run.final_cost < 0.95 * run.costs[0]


def test_centralized_cao_reduces_a_separable_quadratic():
    goals = [[0.2, 0.8], [0.7, 0.3], [0.5, 0.5]]
    params = CAOParams(window=5, candidates=100, step_max=0.05, step_min=0.01, horizon=150)
    run = centralized_cao(problem(Goals(goals), [[0.5, 0.1], [0.1, 0.1], [0.9, 0.9]], params, 150), seed=2)
    assert run.final_cost < 0.2 * run.costs[0]
    assert np.array(run.decisions).shape == (150, 3, 2)           # it moved all drones as one decision


def test_sparse_cubic_keeps_every_linear_and_square_term_and_a_fixed_random_rest():
    e = sparse_cubic(12, np.random.default_rng(0))
    assert e.shape == (37, 12) and len({tuple(r) for r in e}) == 37
    assert (e[:12] == np.eye(12)).all() and (e[12:24] == 2 * np.eye(12)).all() and (e[-1] == 0).all()
    assert set(e[24:-1].sum(axis=1)) == {2, 3} and (e[24:-1].max(axis=1) < 3).sum() >= 6
    assert np.array_equal(e, sparse_cubic(12, np.random.default_rng(0)))
    team = CAOTeam(CAOParams(), np.zeros((1, 12)), [0], e)
    assert team.fit().shape == (1, 37)
    with pytest.raises(ValueError, match=r"shape \(P, 12\)"):
        CAOTeam(CAOParams(), np.zeros((1, 12)), [0], e[:, :3])


def test_our_bench_loop_is_optimise_for_a_single_role():
    p = hold_the_line(4, seed=5, iterations=40)
    assert bcd_cao(p, seed=7).costs == optimise(HoldTheLine(), p.x0, iterations=40, seed=7).costs


def test_every_method_keeps_box_obstacles_and_separation():
    # Drone 0's goal is inside a pillar, drones 1 and 2 share a goal: both constraints bind.
    world = World("pillar", [0, 0, 0], [1, 1, 1], [Cylinder("pillar", (0.5, 0.5), 0.15, 0.0, 1.0)])
    goals = [[0.5, 0.5], [0.2, 0.8], [0.2, 0.8]]
    params = CAOParams(window=5, candidates=60, step_max=0.08, step_min=0.02, horizon=40, redraws=2)
    need = np.full((3, 3), 0.2)
    p = problem(Goals(goals), [[0.9, 0.1], [0.8, 0.9], [0.1, 0.1]], params, 40, need=need, world=world,
                clearance=np.full(3, 0.05), altitude=np.full(3, 0.5), points=lambda tb: (tb.goals, np.ones(3)))
    pairs = np.array([[0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1]])
    for name, method in METHODS.items():
        run = method(p, seed=0)
        path = np.array(run.decisions)                             # (T, 3, 2)
        assert ((path >= 0) & (path <= 1)).all(), name
        assert (np.linalg.norm(path - [0.5, 0.5], axis=-1) >= 0.15 + 0.05 - 1e-9).all(), name
        # Decentralized CAO keeps each new decision apart from the others' last known ones (all
        # a drone knows); the joint methods keep every configuration apart.
        others = path[:-1] if name == "ours" else path[1:]
        gaps = np.linalg.norm(path[1:, pairs[:, 0]] - others[:, pairs[:, 1]], axis=-1)
        assert (gaps >= 0.2 - 1e-9).all(), name
        assert run.final_cost < run.costs[0], name                # and it still made progress
        if name in ("ours", "centralized"):                        # the constraints did bind
            assert np.linalg.norm(path[-1, 0] - [0.5, 0.5]) < 0.22 and np.linalg.norm(path[-1, 1] - path[-1, 2]) < 0.22


def test_mission_problem_starts_on_the_pads_inside_each_roles_band():
    p = mission_problem(load_mission(Path(__file__).resolve().parents[1] / "config/missions/surveillance.yaml"), 10)
    scouts = [k for k, r in enumerate(p.roles) if r == "scout"]
    assert p.n == 8 and p.d == 3 and len(p.groups()) == 2
    assert (p.x0[scouts, 2] == 2.0).all() and (p.x0[[k for k in range(8) if k not in scouts], 2] == 5.0).all()
    amp = p.amplitude(0)
    assert set(amp) == {1.2, 2.0}
    run = lloyd(p)                                                 # Lloyd heads for the middle of each band
    assert np.allclose(run.x[scouts, 2], 3.0) and run.final_cost < run.costs[0]


def test_settle_iteration_is_where_the_cost_stays_within_five_percent():
    assert settle_iteration([10, 5, 1.2, 0.99, 1.04, 1.0]) == 3
    assert settle_iteration([1.0, 1.0]) == 0
