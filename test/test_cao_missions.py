"""CAO drone missions without ROS: the controller contract, the evaluator, plug-n-play in flight."""
import numpy as np
import pytest

from sim.world import World
from swarm_ros.control.beacons import BeaconTable
from swarm_ros.control.cao_controller import CAOController
from swarm_ros.control.cao_evaluator import CAOEvaluator
from swarm_ros.control.cao_objectives import CoverageParams, PersistentCoverage, Surveillance, SurveillanceParams
from swarm_ros.control.contract import Observations, make_beacon
from swarm_ros.headless import fly
from swarm_ros.mission import load_mission
from test_controllers import random_swarm

from conftest import REPO
from cutmission import cut_mission

SURVEILLANCE = REPO / "config" / "missions" / "surveillance.yaml"
COVERAGE = REPO / "config" / "missions" / "persistent_coverage.yaml"


@pytest.fixture(scope="module")
def surveillance():
    return load_mission(SURVEILLANCE)


@pytest.fixture(scope="module")
def surveillance_run(surveillance):
    """The surveillance mission flown headless; positions at three moments."""
    seen = {}

    def watch(sim, _cmd):
        if round(sim.t, 2) in (54.0, 81.0):
            seen[round(sim.t, 2)] = sim.position.copy()
    sim = fly(surveillance, on_tick=watch)
    return sim.summary(), seen


def test_surveillance_mission_improves_its_view_safely(surveillance, surveillance_run):
    summary, seen = surveillance_run
    obj = summary["objective"]
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0
    assert all(d["landed"] for d in summary["drones"])
    assert obj["iterations"] >= 75 and obj["members"] == 8
    assert obj["final_cost"] < 0.6 * obj["first_cost"]
    # every drone flies inside its role's altitude band once it got there
    for t, p in seen.items():
        for k, d in enumerate(surveillance.fleet.drones):
            lo, hi = surveillance.roles[d.role].params.altitude
            assert lo - 0.3 <= p[k, 2] <= hi + 0.3, (t, d.name, p[k, 2])


def test_the_swarm_follows_a_change_of_objective(surveillance_run):
    # At t = 55 s the area of interest moves to a disk around (7, 7): drones drift towards it.
    _, seen = surveillance_run
    dist = {t: np.hypot(p[:, 0] - 7, p[:, 1] - 7).mean() for t, p in seen.items()}
    assert dist[81.0] < dist[54.0] - 1.0


def test_killed_drones_drop_out_and_the_rest_keep_improving(surveillance):
    sim = fly(surveillance, absent=lambda k, t: k in (1, 6) and t >= 30)
    history = sim.extra["objective_history"]
    members = [len(h["members"]) for h in history]
    first_after = members.index(6)
    assert set(members[:first_after]) == {8} and set(members[first_after:]) == {6}
    after = [h["cost"] for h in history[first_after:]]
    assert after[0] > history[first_after - 1]["cost"]            # losing two cameras cost view
    assert min(after[10:]) < 0.95 * after[0]                      # the survivors spread out again
    assert sim.summary()["collisions"] == 0


def test_a_late_drone_joins_with_its_own_window(tmp_path):
    # the mission cut to 60 s: the drone joins at 30 s and flies 14 m before the landing
    sim = fly(load_mission(cut_mission("surveillance", tmp_path, {"duration": 60})), absent=lambda k, t: k == 5 and t < 30)
    history = sim.extra["objective_history"]
    members = [h["members"] for h in history]
    joined = next(i for i, m in enumerate(members) if 5 in m)
    assert joined > 0 and all(5 not in m for m in members[:joined]) and all(5 in m for m in members[joined:])
    assert history[joined]["cost"] <= history[joined - 1]["cost"] + 1e-9   # another camera never hurts
    assert sim.summary()["drones"][5]["distance"] > 5.0                   # and it flew its part


def test_persistent_coverage_mission_raises_coverage_around_obstacles():
    summary = fly(load_mission(COVERAGE)).summary()
    obj = summary["objective"]
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0
    assert obj["final_cost"] < 0.8 * obj["first_cost"] and obj["members"] == 8


# --- the evaluator --------------------------------------------------------------------------------

def small_world():
    return World("w", (-10, -10, 0), (10, 10, 8), [])


def test_evaluator_membership_is_plug_n_play(surveillance):
    spec = surveillance.services["objective"].config
    ev = CAOEvaluator(spec, surveillance.world, {0: "scout", 1: "scout", 2: "mapper"})
    x = {0: [0, 0, 3], 1: [5, 0, 3], 2: [0, 5, 7]}
    for i in (0, 1):
        ev.report(i, 0, x[i], clock=0.0)
    assert ev.ready(0.1) == []                              # drone 2 is still expected
    assert ev.ready(0.0 + spec.report_timeout) == [0]
    answers = ev.evaluate(0)
    assert set(answers) == {0, 1} and all(d == 0.0 for d, _ in answers.values())   # nobody moved yet
    ev.report(0, 1, [1, 0, 3])
    ev.report(2, 1, x[2])                                   # drone 1 left, drone 2 joins
    assert ev.ready(0.0) == []                              # drone 1 may still report ...
    assert ev.ready(spec.report_timeout) == [1]   # ... until the wait is over
    answers = ev.evaluate(1)
    assert set(answers) == {0, 2} and answers[2][0] == 0.0  # a joiner's first contribution is zero
    j = answers[0][1]
    ev.objective.team(["scout", "mapper"])
    assert np.isclose(answers[0][0], j - ev.objective.what_if(np.array([[0, 0, 3], x[2]], float)))
    ev.report(1, 1, x[1])                                   # too late for iteration 1: dropped
    assert 1 not in ev.pending


def test_persistent_coverage_what_if_has_no_side_effects():
    cov = PersistentCoverage(CoverageParams(footprint={"a": 2.0}), small_world())
    cov.team(["a", "a"])
    x = np.array([[0.0, 0.0], [4.0, 4.0]])
    level = cov.level.copy()
    assert cov.what_if(x) == cov.what_if(x) and np.array_equal(cov.level, level)
    j1 = cov.cost(x)
    assert (cov.level > level).any()
    j2 = cov.cost(x)                                          # staying put keeps raising coverage there
    assert j2 < j1


def test_surveillance_sees_only_what_a_camera_cone_with_a_clear_line_of_sight_covers():
    world = small_world()
    flat = Surveillance(SurveillanceParams(fov={"a": np.radians(90)}), world)
    flat.team(["a"])
    seen = flat.seen(np.array([[0.0, 0.0, 2.0]]))
    r = np.hypot(flat.points[:, 0], flat.points[:, 1])
    assert seen[r < 1.9].all() and not seen[r > 2.1].any()    # 90 degrees at 2 m: a 2 m footprint
    hill = Surveillance(SurveillanceParams(fov={"a": np.radians(160)}, hills=((3.0, 0.0, 3.0, 0.8),)), world)
    hill.team(["a"])
    seen = hill.seen(np.array([[0.0, 0.0, 2.0]]))
    behind = (np.abs(hill.points[:, 1]) < 0.6) & (hill.points[:, 0] > 4.0) & (hill.points[:, 0] < 6.0)
    beside = (np.abs(hill.points[:, 1]) > 3.0) & (np.abs(hill.points[:, 0] - 5.0) < 1.0)
    assert behind.sum() == 4 and not seen[behind].any()       # hidden behind the hill
    assert seen[beside].all()                                 # at the same range beside it: seen


# --- the controller contract ------------------------------------------------------------------------

def test_cao_controller_per_drone_equals_batched(surveillance):
    scouts = [d for d in surveillance.fleet.drones if d.role == "scout"]
    params = surveillance.roles["scout"].params
    vehicles = [d.vehicle for d in scouts]
    home = np.array([d.start for d in scouts], float)
    n, rng = len(scouts), np.random.default_rng(3)
    batch = CAOController(params, vehicles, home)
    singles = [CAOController(params, [vehicles[k]], home[k:k + 1]) for k in range(n)]
    moved = 0
    for step in range(40):
        t = surveillance.services["objective"].config.iteration_time(0) + step * 0.5
        p, v, table = random_swarm(n, rng)
        p[:, 2] = rng.uniform(2.0, 4.0, n)
        obs = Observations(t, p, v, table.neighbours(10.0), surveillance.world.sense(p, [4.0] * n))
        together = batch.step_batch(obs)
        alone = np.array([singles[k].step(obs.rows([k])) for k in range(n)])
        np.testing.assert_allclose(alone, together, rtol=0, atol=1e-12)
        answers = {r: np.array([m[0], rng.normal(), 10.0 + rng.normal()]) for r, m in batch.messages()}
        for k, s in enumerate(singles):
            msgs = s.messages()
            assert [m[0] for _, m in msgs] == ([answers[k][0]] if k in answers else [])
        for r, a in answers.items():
            batch.deliver(r, a)
            singles[r].deliver(0, a)
        moved += len(answers)
    np.testing.assert_allclose(np.vstack([s.team.x for s in singles]), batch.team.x, rtol=0, atol=1e-12)
    assert moved >= 2 * n


def test_cao_decisions_respect_the_drone_constraints(surveillance):
    params = surveillance.roles["mapper"].params
    ctrl = CAOController(params, [surveillance.fleet.by_name("x1").vehicle], np.zeros((1, 3)))
    p = np.array([[6.0, -3.0, 6.0]])                          # next to the east mast
    table = BeaconTable(1, timeout=1.0)
    neighbour = np.array([2.0, 2.0, 7.0])                      # a Crazyflie's last beacon
    table.add(0, 3, 9.9, make_beacon(neighbour, np.zeros(3), 0.07, 0))
    obs = Observations(10.0, p, np.zeros((1, 3)), table.neighbours(10.0), surveillance.world.sense(p, [10.0]))
    ctrl.step_batch(obs)
    rng = np.random.default_rng(1)
    pts = np.vstack([rng.uniform([-16, -16, 0], [16, 16, 13], (4000, 3)), neighbour + rng.normal(0, 1.0, (500, 3))])
    ok = ctrl.feasibility(obs)(np.array([0]), pts[None])[0]
    assert ok.sum() > 200 and (~ok).sum() > 200
    assert (pts[ok, 2] >= 5.0).all() and (pts[ok, 2] <= 9.0).all()
    assert (np.abs(pts[ok, :2]) <= 15 - params.fence_margin).all()
    assert (surveillance.world.clearance(pts[ok]) >= 0.38 + params.obstacle_margin).all()
    assert (np.linalg.norm(pts[ok] - neighbour, axis=1) >= 0.38 + 0.07 + params.separation).all()
