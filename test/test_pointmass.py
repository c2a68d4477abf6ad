"""Dynamics and limits of the point-mass model."""
import numpy as np
import pytest

from sim.pointmass import PointMassSwarm
from swarm_ros.core.platforms import PLATFORMS

CF, X500 = PLATFORMS["crazyflie_2.1"], PLATFORMS["px4_x500"]


def fly(vehicle, v_cmd, seconds, start=(0, 0, 2.0), dt=0.005):
    s = PointMassSwarm([vehicle], [start])
    speeds, accels = [], []
    for _ in range(int(round(seconds / dt))):
        before = s.velocity.copy()
        s.step(np.array([v_cmd], float), dt)
        speeds.append(s.velocity[0].copy())
        accels.append(np.linalg.norm(s.velocity[0] - before[0]) / dt)
    return s, np.array(speeds), np.array(accels)


@pytest.mark.parametrize("vehicle", [CF, X500])
def test_horizontal_speed_limit_and_acceleration_limit(vehicle):
    s, v, a = fly(vehicle, (50.0, 0, 0), 6.0)
    assert np.hypot(v[:, 0], v[:, 1]).max() <= vehicle.max_speed + 1e-9
    assert v[-1, 0] == pytest.approx(vehicle.max_speed, rel=1e-3)
    assert a.max() <= vehicle.max_accel + 1e-9


@pytest.mark.parametrize("vehicle", [CF, X500])
def test_climb_and_descent_limits(vehicle):
    _, v, _ = fly(vehicle, (0, 0, 50.0), 5.0)
    assert v[:, 2].max() == pytest.approx(vehicle.max_climb, rel=1e-3)
    _, v, _ = fly(vehicle, (0, 0, -50.0), 5.0, start=(0, 0, 100.0))
    assert v[:, 2].min() == pytest.approx(-vehicle.max_descent, rel=1e-3)


def test_first_order_response_time_constant():
    slow = CF.with_overrides(max_accel=100.0)            # keep the acceleration limit out of the way
    _, v, _ = fly(slow, (0.5, 0, 0), slow.response_time, dt=0.001)
    assert v[-1, 0] == pytest.approx(0.5 * (1 - np.exp(-1)), rel=0.01)


def test_ground_is_solid():
    s, v, _ = fly(CF, (0, 0, -1.0), 3.0, start=(0, 0, 0.5))
    assert s.position[0, 2] == 0.0 and v[-1, 2] == 0.0


def test_each_vehicle_keeps_its_own_limits_in_one_batch():
    s = PointMassSwarm([CF, X500], [(0, 0, 1), (5, 0, 1)])
    for _ in range(2000):
        s.step(np.array([[20.0, 0, 0], [20.0, 0, 0]]), 0.005)
    assert s.velocity[:, 0] == pytest.approx([CF.max_speed, X500.max_speed], rel=1e-3)


def test_compiled_step_equals_numpy(monkeypatch):
    """A whole swarm stepped by the compiled loop has the numpy reference's positions, velocities and
    tracked commands, number for number: speed, climb, descent and acceleration limits and the ground."""
    pytest.importorskip("numba")
    from sim import pointmass_jit
    rng = np.random.default_rng(4)
    vehicles = [X500 if k % 3 == 0 else CF for k in range(200)]
    start = rng.uniform([-5, -5, 0], [5, 5, 2], (200, 3))
    start[:50, 2] = 0.0
    swarms = [PointMassSwarm(vehicles, start) for _ in range(2)]
    assert pointmass_jit.usable(200)
    grounded = clipped = 0
    for tick in range(60):
        cmd = rng.normal(scale=[3.0, 3.0, 2.0], size=(200, 3))       # beyond the limits, and down into the ground
        swarms[0].step(cmd, 0.005, 4)
        with monkeypatch.context() as m:
            m.setattr(pointmass_jit, "usable", lambda n: False)
            swarms[1].step(cmd, 0.005, 4)
        for name in ("position", "velocity", "_cmd"):
            np.testing.assert_array_equal(getattr(swarms[0], name), getattr(swarms[1], name))
        grounded += np.count_nonzero(swarms[0].position[:, 2] == 0.0)
        clipped += np.count_nonzero(swarms[0]._cmd != cmd)
    assert grounded > 100 and clipped > 1000
