"""ENU <-> NED: the conversions every PX4 setpoint and telemetry sample goes through."""
import math

import numpy as np
import pytest

from swarm_ros.core.frames import enu_to_ned, ned_to_enu, yaw_enu_to_ned, yaw_ned_to_enu


@pytest.mark.parametrize("enu, ned", [
    ([1, 0, 0], [0, 1, 0]),       # east
    ([0, 1, 0], [1, 0, 0]),       # north
    ([0, 0, 1], [0, 0, -1]),      # up
    ([2.5, -1.0, 3.0], [-1.0, 2.5, -3.0]),
])
def test_axes_map_east_north_up_to_north_east_down(enu, ned):
    assert enu_to_ned(enu).tolist() == ned
    assert ned_to_enu(ned).tolist() == enu


def test_conversion_is_vectorized_and_its_own_inverse():
    v = np.random.default_rng(0).normal(size=(50, 3))
    out = enu_to_ned(v)
    assert out.shape == (50, 3)
    assert np.array_equal(ned_to_enu(out), v)
    assert np.allclose(np.linalg.norm(out, axis=1), np.linalg.norm(v, axis=1))
    # both frames are right-handed: the map is a rotation (half a turn about the north-east diagonal)
    assert np.linalg.det(enu_to_ned(np.eye(3))) == pytest.approx(1.0)


@pytest.mark.parametrize("yaw_enu, yaw_ned", [
    (0.0, math.pi / 2),           # facing east
    (math.pi / 2, 0.0),           # facing north
    (math.pi, -math.pi / 2),      # facing west
    (-math.pi / 2, math.pi),      # facing south
])
def test_yaw_east_anticlockwise_to_north_clockwise(yaw_enu, yaw_ned):
    assert math.isclose(abs(yaw_enu_to_ned(yaw_enu)), abs(yaw_ned), abs_tol=1e-12)
    if abs(yaw_ned) < math.pi - 1e-9:
        assert yaw_enu_to_ned(yaw_enu) == pytest.approx(yaw_ned)
    assert math.cos(yaw_ned_to_enu(yaw_enu_to_ned(yaw_enu)) - yaw_enu) == pytest.approx(1.0)
