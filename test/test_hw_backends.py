"""Each backend through its real driver library (cflib, pymavlink) against the simulated vehicles:
connect, stream the state estimate, command, and the link-loss failsafe."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwutil import events, loopback_links, pair_mission, wait_for
from sim.vehicles.autopilot import Failsafe
from sim.vehicles.server import VehicleServer
from swarm_ros.hardware import make_backend
from swarm_ros.hardware.base import LinkError
from swarm_ros.hardware.preflight import Limits, check_vehicle
from swarm_ros.mission import load_mission

FAILSAFE = Failsafe(hover_after=0.3, land_after=1.0, land_speed=1.0)


@pytest.fixture
def fleet(tmp_path):
    mission = load_mission(pair_mission(tmp_path))
    links = loopback_links(mission.fleet.names)
    with VehicleServer(mission, links, FAILSAFE) as server:
        yield mission, links, server


@pytest.fixture
def backend(fleet, request):
    mission, links, server = fleet
    name = request.param
    b = make_backend("crazyflie" if name == "cf1" else "px4", mission.fleet.by_name(name), links[name])
    b.connect(5.0)
    yield b, server
    b.close()


def truth(server, name):
    k = server.names.index(name)
    with server.lock:
        return server.ap.position[k].copy(), server.ap.velocity[k].copy(), bool(server.ap.armed[k]), server.ap.mode[k]


@pytest.mark.parametrize("backend", ["cf1", "x1"], indirect=True)
def test_connect_streams_the_state_estimate_in_the_world_frame(backend):
    b, server = backend
    s = b.state()
    assert s.connected and not s.armed and not s.airborne
    assert np.allclose(s.position, b.start, atol=1e-3)          # on its pad, in world ENU
    assert s.battery > 50
    assert wait_for(lambda: b.state().link_quality > 0.8, 3.0)  # telemetry at the expected rate
    assert b.failsafe_timeouts() == pytest.approx((FAILSAFE.hover_after, FAILSAFE.land_after))


@pytest.mark.parametrize("backend", ["cf1", "x1"], indirect=True)
def test_velocity_setpoints_fly_and_odometry_follows_the_vehicle(backend):
    b, server = backend
    b.arm()
    assert wait_for(lambda: b.state().armed, 3.0)
    goal = b.start + [0.4, -0.3, 0.6]

    def step_towards_goal():
        b.velocity(np.clip(3 * (goal - b.state().position), -1.0, 1.0))
        return np.linalg.norm(b.state().position - goal) < 0.05
    assert wait_for(step_towards_goal, 10.0)
    p, v, armed, mode = truth(server, b.name)
    assert armed and mode == "velocity" and np.linalg.norm(p - goal) < 0.1
    assert np.allclose(b.state().position, p, atol=0.1)        # telemetry is the vehicle's own state
    b.land(2.0)
    assert wait_for(lambda: not truth(server, b.name)[2], 10.0)  # landed and disarmed itself
    assert truth(server, b.name)[0][2] < 0.05 and wait_for(lambda: not b.state().airborne, 2.0)
    assert [e for _, e in events(server, b.name)][-3:] == ["landed", "disarmed", "idle"]


@pytest.mark.parametrize("backend", ["cf1", "x1"], indirect=True)
def test_estimate_drift_on_the_pad_is_not_flying(backend):
    """Flying is the vehicle's own verdict (PX4 land detector, Crazyflie supervisor), not the height of
    an estimate that drifts on the ground (barometer): 30 cm of drift, still landed, preflight passes.
    PX4's heights count from its estimate on the ground before arming, so its drift there is absorbed."""
    b, server = backend
    k = server.names.index(b.name)
    with server.lock:
        server.links[k].estimate_bias = np.array([0.0, 0.0, 0.3])
    if b.kind == "px4":
        assert wait_for(lambda: b.ground_z == pytest.approx(-0.3), 3.0)       # NED: 0.3 m up
        assert wait_for(lambda: abs(b.state().position[2] - b.start[2]) < 1e-6, 1.0)
    else:
        assert wait_for(lambda: b.state().position[2] > b.start[2] + 0.25, 3.0)
    s = b.state()
    assert not s.airborne and not s.armed
    assert check_vehicle(server.mission, b, Limits()).problems == []


@pytest.mark.parametrize("backend", ["cf1", "x1"], indirect=True)
def test_landing_time_grows_with_height_within_the_descent_limits(backend):
    """Ctrl-C at any height: the landing is never steeper than the mission's land speed or the
    vehicle's max descent (the estimate is put 6 m up by drift, so nothing has to fly there)."""
    from swarm_ros.deploy import landing_time
    b, server = backend
    phases = server.mission.phases
    assert landing_time(phases, b) == phases.land_duration                  # on the pad
    if b.kind == "px4":
        b.arm()                          # PX4's heights count from its estimate on the ground at arming
    with server.lock:
        server.links[server.names.index(b.name)].estimate_bias = np.array([0.0, 0.0, 6.0])
    assert wait_for(lambda: b.state().position[2] > b.start[2] + 5.9, 3.0)
    for speed in (phases.land_speed, 5.0):                # mission slower than the vehicle, then faster
        fast = dataclasses.replace(phases, land_speed=speed)
        limit = min(speed, b.drone.vehicle.max_descent)
        assert landing_time(fast, b) == pytest.approx(6.0 / limit, rel=1e-3)


@pytest.mark.parametrize("backend", ["x1"], indirect=True)
def test_px4_position_setpoints_go_where_enu_says(backend):
    """A position setpoint in the mission's ENU world goes through NED and the vehicle's local
    frame (origin at its pad) and lands at the same ENU point in the simulator's ground truth."""
    b, server = backend
    b.arm()
    target = b.start + np.array([1.0, 1.5, 1.2])      # 1 m east, 1.5 m north, 1.2 m up
    b.position(target)
    assert wait_for(lambda: np.linalg.norm(truth(server, "x1")[0] - target) < 0.05, 10.0)
    assert b.state().mode == "OFFBOARD"
    assert np.allclose(b.state().position, target, atol=0.1)


@pytest.mark.parametrize("backend", ["x1"], indirect=True)
def test_px4_takeoff_climbs_above_the_pad_in_offboard(backend):
    """Take-off is relative to the pad and needs no global position (NAV_TAKEOFF's altitude is AMSL)."""
    b, server = backend
    b.arm()
    b.takeoff(1.3, 2.0)
    above = b.start + np.array([0.0, 0.0, 1.3])
    assert wait_for(lambda: np.linalg.norm(truth(server, "x1")[0] - above) < 0.05, 10.0)
    assert b.state().mode == "OFFBOARD" and wait_for(lambda: b.state().airborne, 2.0)


@pytest.mark.parametrize("backend", ["cf1"], indirect=True)
def test_crazyflie_parameters_high_level_takeoff_and_emergency_stop(backend):
    b, server = backend
    b.set_parameter("failsafe.landAfter", 1.5)
    assert wait_for(lambda: b.parameters(["failsafe.landAfter"]).get("failsafe.landAfter") == 1.5, 3.0)
    assert server.ap.failsafe[0].land_after == 1.5                  # the vehicle took it
    b.takeoff(0.8, 1.0)
    assert wait_for(lambda: abs(b.state().position[2] - 0.8) < 0.03, 5.0)
    assert "move" in [e for _, e in events(server, "cf1")]          # the high-level commander flew it
    b.emergency_stop()
    assert wait_for(lambda: truth(server, "cf1")[0][2] == 0.0, 3.0)  # motors off: it dropped
    assert truth(server, "cf1")[3] == "stopped" and not truth(server, "cf1")[2]


@pytest.mark.parametrize("backend", ["cf1", "x1"], indirect=True)
def test_link_loss_hovers_then_lands_within_the_configured_timeout(backend):
    b, server = backend
    b.arm()
    assert wait_for(lambda: (b.velocity([0.0, 0.0, 1.0]), b.state().position[2] > 0.6)[1], 5.0)
    server.cut(b.name)                                 # the radio goes out of range, both ways
    assert wait_for(lambda: truth(server, b.name)[3] == "idle", 10.0)
    ev = events(server, b.name)
    flown = [t for t, e in ev if e == "velocity"]
    t_hover = next(t for t, e in ev if e == "hover")
    t_land = next(t for t, e in ev if e == "land")
    t_landed = next(t for t, e in ev if e == "landed")
    with server.lock:
        last_setpoint, last_heard = server.ap.last_setpoint[server.names.index(b.name)], \
            server.ap.last_heard[server.names.index(b.name)]
    step = 1.0 / server.rate
    assert flown and last_setpoint < t_hover < t_land < t_landed
    assert t_hover - last_setpoint == pytest.approx(FAILSAFE.hover_after, abs=2 * step)   # simulation time
    assert t_land - last_heard == pytest.approx(FAILSAFE.land_after, abs=2 * step)
    assert truth(server, b.name)[0][2] < 0.05 and not truth(server, b.name)[2]
    assert wait_for(lambda: not b.state().connected, 3.0)        # and the backend says the link is gone


def test_unreachable_vehicle_is_a_one_line_link_error(fleet):
    mission, links, _server = fleet
    from hwutil import free_ports
    nobody = f"udp://127.0.0.1:{free_ports(1)[0]}"
    for name, kind in (("cf1", "crazyflie"), ("x1", "px4")):
        b = make_backend(kind, mission.fleet.by_name(name), nobody)
        with pytest.raises(LinkError) as err:
            b.connect(1.0)
        assert str(err.value).startswith(f"{name} ({nobody}): ") and "\n" not in str(err.value)


def test_backends_and_simulated_vehicles_import_no_ros():
    """Backends run on a companion computer without ROS too; vehicles are physics (house rule)."""
    from test_architecture import REPO, imported_modules
    files = list((REPO / "swarm_ros" / "hardware").glob("*.py")) + list((REPO / "sim" / "vehicles").glob("*.py"))
    assert len(files) >= 9
    ros = {"rclpy", "std_msgs", "geometry_msgs", "nav_msgs", "sensor_msgs", "visualization_msgs", "builtin_interfaces"}
    assert {f.name: imported_modules(f) & ros for f in files if imported_modules(f) & ros} == {}


@pytest.mark.parametrize("backend", ["x1"], indirect=True)
def test_preflight_refuses_a_vehicle_that_would_not_land_on_link_loss(backend):
    from swarm_ros.hardware.preflight import Limits, check_vehicle
    b, server = backend
    mission = server.mission
    assert check_vehicle(mission, b, Limits()).ok
    b.set_parameter("NAV_DLL_ACT", 0)                     # PX4: data-link loss action disabled
    assert wait_for(lambda: b.parameters(["NAV_DLL_ACT"]).get("NAV_DLL_ACT") == 0, 3.0)
    check = check_vehicle(mission, b, Limits())
    assert not check.ok and check.problems == [f"x1 ({b.uri}): does not land on link loss (hold 0.3 s, land inf s); "
                                               "see the hardware checklist in docs/concepts/hardware.md"]
    relaxed = check_vehicle(mission, b, Limits(require_land_failsafe=False))
    assert relaxed.ok and relaxed.warnings == check.problems


@pytest.mark.parametrize("backend", ["x1"], indirect=True)
def test_px4_setpoint_loss_is_reported_as_a_failsafe_and_landed_as_disarmed(backend):
    """As the real PX4 does: HEARTBEAT.system_status CRITICAL while a failsafe acts (its custom mode
    alone would read as an ordinary mode), and after landing the heartbeat's mode is the last one
    commanded (OFFBOARD), so the backend says "disarmed"."""
    b, server = backend
    b.arm()
    assert wait_for(lambda: (b.velocity([0.0, 0.0, 1.0]), b.state().position[2] > 0.6)[1], 5.0)
    b._setpoint = None                                 # the stream stops, the link stays
    assert wait_for(lambda: b.state().mode == "failsafe (AUTO.LOITER)", 3.0), b.state().mode
    b.land(2.0)
    assert wait_for(lambda: b.state().mode == "disarmed", 10.0), b.state().mode
    k = server.names.index("x1")
    with server.lock:
        assert server.links[k].mode == "OFFBOARD"     # what the heartbeat says, as on PX4
