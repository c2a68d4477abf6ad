"""GMT* in missions without ROS: the planning service, the planned controller, obstacles that appear."""
import numpy as np
import pytest

from sim.metrics import SwarmMetrics
from sim.world import Box, Cylinder, World
from swarm_ros.analysis.safety import world_events
from swarm_ros.control.contract import Neighbours, Observations
from swarm_ros.control.planned import PlannedController, PlannedParams
from swarm_ros.headless import fly
from swarm_ros.mission import load_mission
from swarm_ros.planning.service import (PlanSpec, PlanningService, decode_answer, decode_request, encode_answer,
                                        encode_request, segment_speeds, shape_record)
from swarm_ros.core.platforms import PLATFORMS

from conftest import REPO

CROSSING = REPO / "config" / "missions" / "crossing.yaml"
CF, X500 = PLATFORMS["crazyflie_2.1"], PLATFORMS["px4_x500"]


def dense(path: np.ndarray, step: float = 0.01) -> np.ndarray:
    """Points every `step` along a polyline (an independent check of the planner's exact tests)."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    parts = [path[:1]] + [a + np.linspace(0, 1, int(np.ceil(s / step)) + 1)[1:, None] * (b - a)
                          for a, b, s in zip(path[:-1], path[1:], np.maximum(seg, step))]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def crossing():
    return load_mission(CROSSING)


@pytest.fixture(scope="module")
def crossing_run(crossing):
    return fly(crossing)


def test_mixed_fleet_crosses_the_field_without_collision(crossing, crossing_run):
    summary = crossing_run.summary()
    assert summary["collisions"] == 0 and summary["geofence_violations"] == 0
    assert all(d["landed"] for d in summary["drones"])
    assert summary["planning"]["failed"] == 0 and summary["planning"]["requests"] >= 8
    for k, d in enumerate(crossing.fleet.drones):       # each landed under its own goal
        goal = crossing.roles[d.role].params.targets(np.array([d.start]))[0, -1]
        assert np.linalg.norm(crossing_run.position[k, :2] - goal[:2]) < 0.3, d.name


def test_each_drone_plans_with_its_own_body_and_limits(crossing, crossing_run):
    log = crossing_run.services["planner"].log
    world = crossing.world
    for entry in log:
        d = crossing.fleet.drones[entry["drone"]]
        v, path = d.vehicle, entry["path"]
        # clearance from what the drone knew (the map, plus walls once sensed), checked densely
        t = entry["id"] if entry["shapes"] else 0.0
        clear = world.obstacle_sdf(dense(path), t).min()
        assert clear >= v.body_radius + 0.02 - 1e-9, (d.name, clear)
        if entry["id"] == 4.0:     # first plans start from a free hover: the full margin is kept
            assert clear >= v.body_radius + crossing.roles[d.role].params.margin - 1e-6
        # the timing keeps the vehicle's horizontal speed and climb limits
        vel = np.diff(path, axis=0) / np.diff(entry["t"])[:, None]
        assert (np.hypot(vel[:, 0], vel[:, 1]) <= v.max_speed + 1e-9).all()
        assert (vel[:, 2] <= v.max_climb + 1e-9).all() and (-vel[:, 2] <= v.max_descent + 1e-9).all()
    # a Crazyflie squeezes through gaps an X500 may not use: its paths come closer to pillars
    least = {kind: min(world.obstacle_sdf(dense(e["path"]), 0.0).min() for e in log
                       if crossing.fleet.drones[e["drone"]].type == kind and not e["shapes"]) for kind in ("cf", "x500")}
    assert least["cf"] < X500.body_radius + 0.25 <= least["x500"] + 1e-6


def test_drones_replan_around_walls_that_appear(crossing, crossing_run):
    world, log = crossing.world, crossing_run.services["planner"].log
    walls = np.nonzero(~world.mapped)[0]
    assert len(walls) == 2 and (world.appear_at[walls] == 10.0).all()
    replanned = [e for e in log if e["shapes"]]
    assert len({e["drone"] for e in replanned}) >= 3
    for e in replanned:
        assert e["id"] >= 10.0                              # only after the walls appeared
        before = [b for b in log if b["drone"] == e["drone"] and b["id"] < e["id"]][-1]
        r = crossing.fleet.drones[e["drone"]].vehicle.body_radius
        # the old path ran into a wall; the new one keeps clear of both
        assert world.obstacle_sdf(dense(before["path"]), 20.0)[:, walls].min() < r + 0.25
        assert world.obstacle_sdf(dense(e["path"]), 20.0)[:, walls].min() >= r + 0.02 - 1e-9
        assert np.linalg.norm(e["path"][0] - before["path"][0]) > 1.0     # from where the drone had got to


# --- the planning service and the controller alone ---------------------------------------------

HALL = World("hall", [-5, -5, 0], [5, 5, 3], [Cylinder("post", (0.0, 2.0), 0.3, 0.0, 3.0),
                                              Box("door", (0.0, 0.0, 1.5), (6.0, 0.4, 3.0), appear_at=5.0)])


def hall_service(vehicle=CF, margin=0.2):
    spec = PlanSpec(vehicle, (-4.5, -4.5, 0.5), (4.5, 4.5, 2.5), 1500, 0.5, margin, 1.0)
    return PlanningService(HALL, {0: spec}), spec


def test_messages_round_trip_and_malformed_ones_are_refused():
    box = shape_record(HALL.obstacles[1])
    rid, start, goal, shapes = decode_request(encode_request(3.5, [1, 2, 3], [4, 5, 6], [box]))
    assert rid == 3.5 and start.tolist() == [1, 2, 3] and goal.tolist() == [4, 5, 6] and shapes.tolist() == [box.tolist()]
    with pytest.raises(ValueError):
        decode_request(encode_request(1.0, [0, 0, 1], [1, 1, 1], [box])[:-1])
    with pytest.raises(ValueError):
        decode_request(np.r_[1.0, 0, 0, 1, 1, 1, np.nan, 0])
    rid, t, p = decode_answer(encode_answer(2.0, [2.0, 3.0], [[0, 0, 1], [1, 0, 1]]))
    assert rid == 2.0 and t.tolist() == [2.0, 3.0] and p.tolist() == [[0, 0, 1], [1, 0, 1]]
    with pytest.raises(ValueError):
        decode_answer(np.array([2.0, 3.0, 1.0]))


def test_the_service_plans_around_what_the_drone_reports_and_only_that():
    service, spec = hall_service()
    start, goal = [0.0, -3.0, 1.5], [0.0, 3.5, 1.5]
    blind = decode_answer(service.answer(0, encode_request(6.0, start, goal)))[2]
    told = decode_answer(service.answer(0, encode_request(6.5, start, goal, [shape_record(HALL.obstacles[1])])))[2]
    door = HALL.obstacle_names.index("door")
    inflate = CF.body_radius + spec.margin
    assert HALL.obstacle_sdf(dense(blind))[:, door].min() < 0            # map only: straight through the door
    assert HALL.obstacle_sdf(dense(told)).min() >= inflate - 1e-9        # told: around it, and the post
    assert service.roadmap(spec) is service.roadmap(spec)                 # cached per process
    assert [e["shapes"] for e in service.log] == [0, 1] and service.summary()["requests"] == 2


def test_timing_follows_the_vehicle_limits_and_a_tight_start_still_gets_a_path():
    up = np.array([[0, 0, 1.0], [0, 0, 2.5], [3, 0, 2.5], [3, 0, 1.0]])
    assert np.allclose(segment_speeds(up, X500, 5.0), [X500.max_climb, 5.0, X500.max_descent])
    assert np.allclose(segment_speeds(up, CF, 5.0), [1.0, 1.0, 1.0])
    service, spec = hall_service(X500)
    near_post = [0.0, 1.2, 1.5]                # 0.5 m from the post: inside the X500's inflation (0.58 m)
    rid, t, path = decode_answer(service.answer(0, encode_request(1.0, near_post, [3.0, 4.0, 1.5])))
    assert len(path) >= 2 and t[0] == 1.0 and (np.diff(t) > 0).all()
    assert service.log[-1]["inflation"] < X500.body_radius + spec.margin
    assert HALL.obstacle_sdf(dense(path), 0.0).min() >= X500.body_radius - 1e-9


def test_the_controller_asks_follows_and_replans_when_it_senses_an_obstacle():
    params = PlannedParams(goals=((0.0, 3.5, 1.5),), altitude=(0.5, 2.5), samples=1500, margin=0.2).bind(HALL, 0)
    ctrl = PlannedController(params, [CF], np.array([[0.0, -3.0, 0.0]]))
    service = PlanningService(HALL, {0: params.spec(CF)})
    p, v = np.array([[0.0, -3.0, 1.5]]), np.zeros((1, 3))

    def obs(t):
        return Observations(t, p, v, Neighbours.empty(1), HALL.sense(p, [CF.sensing_range], t))
    assert np.allclose(ctrl.step_batch(obs(4.0)), 0.0)             # no path yet: hold
    (row, request), = ctrl.messages()
    ctrl.deliver(row, service.answer(0, request))
    ctrl.deliver(0, encode_answer(99.0, [99.0, 100.0], [[0, 0, 1], [0, 1, 1]]))   # stale: ignored
    cmd = ctrl.step_batch(obs(4.02))
    assert cmd[0, 1] > 0.3 and ctrl.messages() == []                # flies its path, north
    cmd = ctrl.step_batch(obs(5.02))                                # the door appeared, 3 m ahead
    (row, request), = ctrl.messages()
    assert ctrl.replans[0] == 1 and decode_request(request)[3].shape == (1, 7)
    assert np.linalg.norm(ctrl.step_batch(obs(5.04))) < 0.3          # holds while it waits
    ctrl.deliver(row, service.answer(0, request))
    ctrl.step_batch(obs(5.06))
    assert ctrl.paths[0] is not None and ctrl.messages() == []


def test_obstacles_that_appear_are_absent_before_their_time():
    p = np.array([[0.0, 0.25, 1.5], [3.0, 3.0, 1.5]])
    door = HALL.obstacle_names.index("door")
    assert HALL.obstacle_sdf(p, 4.9)[0, door] == np.inf and HALL.obstacle_sdf(p, 5.0)[0, door] < 0.2
    before, after = HALL.sense(p, [4.0, 4.0], 4.9), HALL.sense(p, [4.0, 4.0], 5.0)
    assert np.isinf(before.obstacle_clearance[:, door]).all() and np.isfinite(after.obstacle_clearance[0, door])
    assert np.isfinite(before.obstacle_normal).all()
    metrics = SwarmMetrics([0.07, 0.07], HALL, p)
    metrics.update(4.9, p)
    assert metrics.collisions.sum() == 0
    metrics.update(5.0, p)
    assert metrics.collisions.tolist() == [1, 0]
    # `swarm-ros analyze` counts the same contact from a recorded track, at the same time
    track = np.repeat(p[None], 3, axis=0)
    events = world_events(track, np.array([0.07, 0.07]), HALL, np.array([4.8, 4.9, 5.0]), ["a", "b"])
    assert [(e["t"], e["obstacle"]) for e in events["obstacle_events"]] == [(5.0, "door")]
