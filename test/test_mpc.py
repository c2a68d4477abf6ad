"""casadi MPC: plans within the platform limits and reaches a reachable target; as a tracking
layer (`tracking: mpc` on a role) it flies the default mission."""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from conftest import REPO
from swarm_ros.control.mpc import SOLVERS, MPCParams, PositionMPC
from swarm_ros.core.platforms import PLATFORMS

TOL = 1e-3    # relative: QP solver tolerance on the limits


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("platform", ["crazyflie_2.1", "px4_x500"])
def test_mpc_respects_limits_and_reaches_a_reachable_target(platform, solver):
    veh = PLATFORMS[platform]
    mpc = PositionMPC(veh, MPCParams(solver=solver))
    target = np.array([2.0, -1.5, 1.0]) if platform == "crazyflie_2.1" else np.array([4.0, -3.0, 2.0])
    p, v, dt = np.zeros(3), np.zeros(3), 0.02
    for _ in range(250):          # 5 s: ample to get there (2.7 m at <= 1 m/s; 5.4 m at <= 2 m/s)
        acc = mpc.solve(p, v, np.tile(target, (mpc.params.horizon, 1)), np.zeros((mpc.params.horizon, 3)))
        assert mpc.qp.stats()["success"], mpc.last_status
        pos, vel = mpc.predict(p, v, acc)             # the whole plan keeps the limits, not just step one
        assert (np.linalg.norm(acc, axis=1) <= veh.max_accel * (1 + TOL)).all()
        assert (np.hypot(vel[:, 0], vel[:, 1]) <= veh.max_speed * (1 + TOL)).all()
        assert (vel[:, 2] <= veh.max_climb * (1 + TOL)).all() and (vel[:, 2] >= -veh.max_descent * (1 + TOL)).all()
        p, v = p + v * dt + 0.5 * acc[0] * dt * dt, v + acc[0] * dt
    assert np.linalg.norm(p - target) < 0.05 and np.linalg.norm(v) < 0.05


def test_mpc_limits_are_the_profile_limits():
    """The polygons are inscribed in the true limits and touch them: nothing looser, not much tighter."""
    veh = PLATFORMS["px4_x500"]
    mpc = PositionMPC(veh)
    assert math.hypot(mpc.a_h, mpc.a_z) == pytest.approx(veh.max_accel)
    p, v = np.zeros(3), np.zeros(3)
    far = np.tile([100.0, 0.0, 0.0], (mpc.params.horizon, 1))
    for _ in range(400):            # flat out towards a far target: it reaches the (octagon's) speed limit
        acc = mpc.solve(p, v, far, np.zeros_like(far))
        p, v = p + v * 0.02 + 0.5 * acc[0] * 4e-4, v + acc[0] * 0.02
    assert veh.max_speed * math.cos(math.pi / 8) * (1 - TOL) <= np.hypot(v[0], v[1]) <= veh.max_speed * (1 + TOL)


def test_mpc_brakes_within_limits_when_its_limits_cannot_hold():
    """Thrown at twice its speed limit (no admissible plan exists), the MPC brakes at an
    admissible acceleration instead of failing, and plans normally once back in range."""
    veh = PLATFORMS["crazyflie_2.1"]
    mpc = PositionMPC(veh)
    p, v = np.zeros(3), np.array([2.0 * veh.max_speed, 0.0, 0.0])
    ref = np.tile(p, (mpc.params.horizon, 1))
    acc = mpc.solve(p, v, ref, np.zeros_like(ref))
    assert not mpc.qp.stats()["success"]
    assert acc[0, 0] < 0 and np.linalg.norm(acc[0]) <= veh.max_accel
    for _ in range(100):
        acc = mpc.solve(p, v, ref, np.zeros_like(ref))
        p, v = p + v * 0.02 + 0.5 * acc[0] * 4e-4, v + acc[0] * 0.02
    assert mpc.qp.stats()["success"] and np.hypot(v[0], v[1]) <= veh.max_speed


def test_default_mission_with_mpc_tracking_is_safe(tmp_path):
    from swarm_ros.control.mpc import MPCTracking
    from swarm_ros.headless import fly
    from swarm_ros.mission import load_mission
    src = REPO / "config" / "missions" / "rings.yaml"
    data = yaml.safe_load(src.read_text())
    data["fleet"] = str((src.parent / data["fleet"]).resolve())
    data["world"] = str((src.parent / data["world"]).resolve())
    for role in data["roles"].values():
        role["tracking"] = "mpc"
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(data))
    mission = load_mission(tmp_path / "m.yaml")
    # (flown speeds are not asserted here: the simulator clips every command to max_speed, so such
    # a check could not fail; the MPC's own limits are checked on its plans in the tests above)
    sim = fly(mission)
    s = sim.summary()
    assert s["collisions"] == 0 and s["geofence_violations"] == 0 and all(d["landed"] for d in s["drones"])
    from swarm_ros.control.onboard import Onboard
    tasks = Onboard(mission, mission.fleet.drones).controller.tasks
    assert all(isinstance(ctrl, MPCTracking) for _, ctrl in tasks)
