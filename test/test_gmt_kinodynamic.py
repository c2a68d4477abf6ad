"""Kinodynamic GMT*: double-integrator edges, vehicle limits and clearance of returned trajectories."""
import numpy as np
import pytest
from scipy.interpolate import CubicHermiteSpline

from sim.world import load_world
from swarm_ros.planning import double_integrator as di
from swarm_ros.planning.kinodynamic import kinodynamic_roadmap, limit_report, plan_kinodynamic
from swarm_ros.planning.obstacles import ObstacleSet, inflation_for
from swarm_ros.core.platforms import PLATFORMS
from swarm_ros.core.resources import share_dir

START, GOAL = [0.0, -8.0, 1.0, 0, 0, 0], [0.0, 8.0, 2.0, 0, 0, 0]


def test_optimal_time_is_the_global_minimum_of_the_cost():
    rng = np.random.default_rng(0)
    x0, x1 = rng.uniform(-2, 2, (40, 6)), rng.uniform(-2, 2, (40, 6))
    tau, cost = di.optimal(x0, x1)
    a, b, e = di.coefficients(x0, x1)
    grid = np.linspace(1e-3, 30, 200_001)
    for k in range(len(tau)):
        assert cost[k] <= di.cost_at(grid, a[k], b[k], e[k]).min() + 1e-9
        assert di.cost_at(tau[k], a[k], b[k], e[k]) == pytest.approx(cost[k])


def test_cubic_meets_both_states_and_its_effort_is_the_cost():
    rng = np.random.default_rng(1)
    x0, x1 = rng.uniform(-1, 1, (30, 6)), rng.uniform(-1, 1, (30, 6))
    tau, cost = di.optimal(x0, x1)
    s = np.linspace(0, 1, 4001)
    p, v, u = di.states(x0, x1, tau, s)
    assert np.allclose(p[:, 0], x0[:, :3]) and np.allclose(v[:, 0], x0[:, 3:])
    assert np.allclose(p[:, -1], x1[:, :3]) and np.allclose(v[:, -1], x1[:, 3:])
    effort = np.trapezoid((u ** 2).sum(axis=2), s, axis=1) * tau
    assert np.allclose(tau + effort, cost, rtol=1e-6)


def test_limit_check_accepts_only_edges_that_stay_within_limits():
    lim = di.Limits(max_speed=1.0, max_climb=0.8, max_descent=0.5, max_accel=2.0)
    rng = np.random.default_rng(2)
    scale = np.array([2.0, 2.0, 2.0, 0.7, 0.7, 0.7])
    x0, x1 = rng.uniform(-1, 1, (3000, 6)) * scale, rng.uniform(-1, 1, (3000, 6)) * scale
    tau, _ = di.optimal(x0, x1)
    ok = di.within_limits(x0, x1, tau, lim)
    assert 50 < ok.sum() < len(ok) - 50             # both outcomes occur
    _, v, u = di.states(x0[ok], x1[ok], tau[ok], np.linspace(0, 1, 2001))
    assert np.hypot(v[..., 0], v[..., 1]).max() <= lim.max_speed + 1e-12
    assert v[..., 2].max() <= lim.max_climb + 1e-12 and v[..., 2].min() >= -lim.max_descent - 1e-12
    assert np.linalg.norm(u, axis=2).max() <= lim.max_accel + 1e-12


@pytest.fixture(scope="module")
def world():
    return load_world(share_dir() / "sim" / "worlds" / "pillar_field.yaml")


@pytest.mark.parametrize("platform", ["crazyflie_2.1", "px4_x500"])
def test_trajectory_respects_limits_and_clearance(world, platform):
    vehicle = PLATFORMS[platform]
    lim = di.Limits.of(vehicle)
    rm = kinodynamic_roadmap(world.bounds_min, world.bounds_max, lim, 800, seed=0)
    inflate = inflation_for(vehicle)
    res = plan_kinodynamic(rm, ObstacleSet.from_world(world, inflate), START, GOAL, lam=0.5)
    assert res.found, res.reason
    tr = res.trajectory
    assert np.allclose(tr["position"][0], START[:3]) and np.allclose(tr["position"][-1], GOAL[:3])
    assert np.allclose(tr["velocity"][[0, -1]], 0.0)
    assert np.all(np.diff(tr["t"]) > 0)
    assert limit_report(tr, lim)["within"]
    # Independent re-evaluation: the samples include every edge's ends, so a Hermite spline through
    # (t, p, v) reproduces the cubics; check it densely against the raw world and the limits.
    spline = CubicHermiteSpline(tr["t"], tr["position"], tr["velocity"])
    t = np.linspace(0, tr["t"][-1], 20001)
    p, v, a = spline(t), spline(t, 1), spline(t, 2)
    assert world.clearance(p).min() >= inflate - 1e-6
    assert world.inside_fence(p).all()
    assert np.hypot(v[:, 0], v[:, 1]).max() <= lim.max_speed + 1e-6
    assert v[:, 2].max() <= lim.max_climb + 1e-6 and v[:, 2].min() >= -lim.max_descent - 1e-6
    assert np.linalg.norm(a, axis=1).max() <= lim.max_accel + 1e-6


def test_group_marching_stays_within_bound_of_tiny_lambda(world):
    lim = di.Limits.of(PLATFORMS["crazyflie_2.1"])
    rm = kinodynamic_roadmap(world.bounds_min, world.bounds_max, lim, 800, seed=0)
    obs = ObstacleSet.from_world(world, 0.2)
    ref = plan_kinodynamic(rm, obs, START, GOAL, lam=1e-3).cost
    for lam in (0.5, 1.0):
        c = plan_kinodynamic(rm, obs, START, GOAL, lam=lam).cost
        assert ref - 1e-9 <= c <= (1 + 2 * lam) * ref
