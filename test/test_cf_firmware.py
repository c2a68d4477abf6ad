"""The simulated Crazyflie with the Crazyflie firmware's own flight code (cffirmware bindings of firmware
2026.08): cflib drives it over CRTP, and it flies where the firmware's planner and controllers say.
Firmware tests skip where the bindings are not installed (scripts/_venv.sh installs them from
../shared/cffirmware); the rigid body and the fallback are checked everywhere."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hwutil import events, loopback_links, pair_mission, wait_for
from sim.quadrotor import GRAVITY, Quadrotor, crazyflie_params
from sim.vehicles.autopilot import Failsafe
from sim.vehicles.cf_firmware import STAND_IN, _decompress_quaternion, crazyflie_flight, firmware
from sim.vehicles.server import VehicleServer
from swarm_ros.hardware import make_backend
from swarm_ros.mission import load_mission

needs_firmware = pytest.mark.skipif(firmware() is None, reason="cffirmware bindings not installed "
                                    "(pip install ../shared/cffirmware/cffirmware-*.whl)")


# --- the rigid body (no firmware needed) ------------------------------------------------------
def test_rigid_body_hovers_at_weight_falls_without_thrust_and_yaws_with_m2_m4():
    params = crazyflie_params(0.027)
    body = Quadrotor(params, [0.0, 0.0, 1.0])
    hover = [0.027 * GRAVITY / 4] * 4
    body.f = list(hover)                                   # motors already spun up
    for _ in range(1000):
        body.step(hover, 0.001)
    assert abs(body.p[2] - 1.0) < 1e-6 and max(abs(x) for x in body.v) < 1e-6
    body.f = [0.0] * 4
    for _ in range(200):                                    # 0.2 s with motors off: g t^2 / 2 = 0.196 m
        body.step([0.0] * 4, 0.001)
    assert body.p[2] == pytest.approx(1.0 - 0.5 * GRAVITY * 0.2 ** 2, abs=0.005)
    spin = Quadrotor(params, [0.0, 0.0, 1.0])
    spin.f = list(hover)
    more = 0.002
    for _ in range(100):                                    # M2 and M4 turn the body's yaw positive
        spin.step([hover[0] - more, hover[1] + more, hover[2] - more, hover[3] + more], 0.001)
    assert spin.w[2] > 0.0 and spin.yaw() > 0.0 and abs(spin.w[0]) < 1e-9 and abs(spin.w[1]) < 1e-9
    lagged = Quadrotor(params, [0.0, 0.0, 0.0])
    lagged.step([0.1] * 4, params.motor_tau)                # one time constant: 63 % of the step
    assert lagged.f[0] == pytest.approx(0.1 * (1 - math.exp(-1)), rel=1e-6)


def test_rigid_body_rests_on_the_ground_until_the_rotors_lift_it():
    body = Quadrotor(crazyflie_params(0.027), [0.0, 0.0, 0.0])
    for _ in range(100):
        body.step([0.05] * 4, 0.001)                        # 0.2 N total < 0.265 N weight
    assert body.p == [0.0, 0.0, 0.0] and body.ground
    for _ in range(300):
        body.step([0.1] * 4, 0.001)
    assert body.p[2] > 0.05 and not body.ground


def test_full_state_quaternion_decodes_as_cflib_encodes_it():
    from cflib.utils.encoding import compress_quaternion
    for q in ([0.0, 0.0, 0.0, 1.0], [0.1, -0.2, 0.3, 0.927], [0.0, 0.0, -0.7071, 0.7071]):
        q = np.array(q) / np.linalg.norm(q)
        back = np.array(_decompress_quaternion(compress_quaternion(q)))
        assert np.allclose(back, q, atol=3e-3) or np.allclose(back, -q, atol=3e-3)     # q and -q: one rotation


# --- which flight flies --------------------------------------------------------------------
def test_fallback_and_controller_choice_errors(tmp_path):
    mission = load_mission(pair_mission(tmp_path))
    links = loopback_links(mission.fleet.names)
    with VehicleServer(mission, links, cf_controller=None) as server:
        assert server.cf_flight == STAND_IN and server.links[0].flight is None
    assert crazyflie_flight(None, 4) == STAND_IN
    if firmware() is None:
        assert crazyflie_flight("mellinger", 4) == STAND_IN           # no bindings: the stand-in flies
        return
    assert crazyflie_flight("mellinger", 4) == "firmware mellinger"
    with pytest.raises(ValueError, match="unknown Crazyflie controller 'indi'; allowed: pid, mellinger"):
        crazyflie_flight("indi", 1)
    with pytest.raises(ValueError, match="pid controller keeps its state in globals.*this fleet has 4"):
        crazyflie_flight("pid", 4)
    assert crazyflie_flight("pid", 1) == "firmware pid"


@needs_firmware
def test_vehicles_cli_names_the_flight_and_refuses_a_bad_controller_in_one_line(tmp_path, capsys):
    from hwutil import FIRST_FLIGHT, write_links
    from test_hw_deploy import run_main
    assert run_main(["vehicles", str(FIRST_FLIGHT), "--cf-controller", "pid", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --cf-controller pid: the firmware's pid controller keeps its state") and "\n" not in err
    mission = load_mission(FIRST_FLIGHT)
    links = write_links(tmp_path / "links.yaml", loopback_links(mission.fleet.names))
    for choice, flies in (("lee", "firmware lee"), ("pointmass", STAND_IN)):
        assert run_main(["vehicles", str(FIRST_FLIGHT), "--links", str(links), "--cf-controller", choice,
                         "--duration", "0.1"]) == 0
        assert f"Crazyflies fly: {flies}" in capsys.readouterr().out


# --- flights through cflib -------------------------------------------------------------------
@pytest.fixture
def cf(tmp_path, request):
    """(backend, server, flight) for the pair mission's Crazyflie, flying firmware controller `param`."""
    mission = load_mission(pair_mission(tmp_path))
    links = loopback_links(mission.fleet.names)
    with VehicleServer(mission, links, Failsafe(hover_after=0.5, land_after=2.0, land_speed=1.0),
                       cf_controller=getattr(request, "param", "mellinger")) as server:
        b = make_backend("crazyflie", mission.fleet.by_name("cf1"), links["cf1"])
        b.connect(5.0)
        try:
            yield b, server, server.links[0].flight
        finally:
            b.close()


def planner_gap(server, flight) -> float:
    """Distance (m) between the vehicle and its planner's current goal, on the firmware's own clock."""
    fw = firmware()
    with server.lock:
        goal = fw.plan_current_goal(flight.planner, flight.t)     # keep the struct while reading it
        if not fw.is_traj_eval_valid(goal):
            return math.nan
        pos = goal.pos
        return float(np.linalg.norm(np.array([pos.x, pos.y, pos.z]) - flight.body.p))


@needs_firmware
@pytest.mark.parametrize("cf", ["mellinger", "pid"], indirect=True)
def test_high_level_takeoff_goto_and_land_fly_where_the_firmware_planner_says(cf):
    b, server, flight = cf
    assert flight is not None and b.parameters(["stabilizer.controller"])["stabilizer.controller"] == \
        {"mellinger": 2, "pid": 1}[flight.controller]
    # PID's height loop lags the climb by up to about 0.4 m (also in ../shared/cffirmware/README.md)
    tolerance = {"mellinger": 0.05, "pid": 0.5}[flight.controller]
    b.takeoff(1.0, 2.0)
    gaps = []
    assert wait_for(lambda: (gaps.append(planner_gap(server, flight)), flight.t > 0.5 and
                             server.ap.position[0, 2] > b.start[2] + 0.9)[1], 6.0)
    assert wait_for(lambda: (gaps.append(planner_gap(server, flight)),
                             server.ap.mode[0] == "move" and abs(b.state().position[2] - 1.0) < 0.05)[1], 4.0)
    assert max(g for g in gaps if np.isfinite(g)) < tolerance
    goal = b.start + np.array([0.5, -0.4, 1.2])
    b.cf.high_level_commander.go_to(*goal, 0.0, 2.0)
    assert wait_for(lambda: np.linalg.norm(server.ap.position[0] - goal) < 0.05, 6.0)
    b.land(2.0)
    assert wait_for(lambda: not server.ap.armed[0], 8.0)
    p = server.ap.position[0]
    assert p[2] < 0.05 and np.linalg.norm(p[:2] - goal[:2]) < 0.05          # landed below the go-to goal
    kinds = [e for _, e in events(server, "cf1")]
    assert kinds[-3:] == ["landed", "disarmed", "idle"] and "move" in kinds and "land" in kinds


@needs_firmware
@pytest.mark.parametrize("cf", ["mellinger", "pid"], indirect=True)
def test_setpoints_through_cflib_fly_the_firmware_controller(cf):
    """Velocity commands (in the form the controller flies) and position setpoints from the backend,
    as in a deployment; within 10 cm of a position setpoint (Mellinger's integral terms carry over
    from the velocity flight); the vehicle reports its true attitude while it flies."""
    b, server, flight = cf
    b.arm()
    goal = b.start + np.array([0.4, -0.3, 0.7])

    def towards():
        b.velocity(np.clip(3 * (goal - b.state().position), -1.0, 1.0))
        return np.linalg.norm(server.ap.position[0] - goal) < 0.05
    assert wait_for(towards, 10.0)
    assert server.ap.mode[0] == "velocity" and flight.priority == 2          # streamed setpoints rule
    target = b.start + np.array([-0.3, 0.2, 1.0])
    tilt = []
    assert wait_for(lambda: (b.position(target), tilt.append(abs(flight.attitude_deg()[0])),
                             np.linalg.norm(server.ap.position[0] - target) < 0.1)[2], 8.0)
    assert server.ap.mode[0] == "position" and max(tilt) > 1.0               # it leaned to get there
    b.land(2.0)
    assert wait_for(lambda: not server.ap.armed[0], 8.0)
    assert server.ap.position[0][2] < 0.05


@needs_firmware
@pytest.mark.parametrize("cf", ["mellinger", "pid"], indirect=True)
def test_velocity_world_setpoints_fly_only_with_the_firmware_pid(cf):
    """What the real firmware does with cflib's send_velocity_world_setpoint: PID follows it; Mellinger
    reads the unset position as "hold height 0" and comes down. Why the backend sends full state."""
    b, server, flight = cf
    b.takeoff(1.0, 1.5)
    assert wait_for(lambda: abs(server.ap.position[0, 2] - 1.0) < 0.05, 6.0)
    z0 = float(server.ap.position[0, 2])
    lowest, highest = [z0], [z0]

    def fly_up():
        b.cf.commander.send_velocity_world_setpoint(0.0, 0.0, 0.3, 0.0)
        z = float(server.ap.position[0, 2])
        lowest.append(min(lowest[-1], z))
        highest.append(max(highest[-1], z))
        return False
    wait_for(fly_up, 1.5)
    if flight.controller == "pid":
        assert highest[-1] > z0 + 0.2                                       # climbed at about 0.3 m/s
    else:
        top = b.start[2] + 1.0                                              # the take-off height
        assert lowest[-1] < top - 0.3 and highest[-1] < top + 0.03          # asked to climb, came down


@needs_firmware
def test_controller_parameter_switches_the_firmware_controller(cf):
    b, server, flight = cf
    assert flight.controller == "mellinger"
    b.set_parameter("stabilizer.controller", 1)
    assert wait_for(lambda: b.parameters(["stabilizer.controller"]).get("stabilizer.controller") == 1, 3.0)
    assert flight.controller == "pid"
    b.takeoff(0.5, 1.0)
    assert wait_for(lambda: abs(server.ap.position[0, 2] - 0.5) < 0.1, 5.0)   # and PID flies it


@needs_firmware
def test_several_crazyflies_keep_mellinger_when_asked_for_the_global_state_pid(tmp_path):
    from hwutil import FIRST_FLIGHT
    mission = load_mission(FIRST_FLIGHT)
    links = loopback_links(mission.fleet.names)
    with VehicleServer(mission, links) as server:
        b = make_backend("crazyflie", mission.fleet.by_name("cf2"), links["cf2"])
        b.connect(5.0)
        try:
            b.set_parameter("stabilizer.controller", 1)
            assert wait_for(lambda: b.parameters(["stabilizer.controller"]).get("stabilizer.controller") == 2, 3.0)
        finally:
            b.close()
        assert all(link.flight.controller == "mellinger" for link in server.links[:4])


@needs_firmware
def test_stale_setpoints_meet_the_firmware_watchdog_when_the_failsafe_waits_longer(tmp_path):
    """Stock firmware behaviour, seen with the simulator's failsafe set late: a streamed setpoint
    older than 0.5 s is levelled (height held), older than 2 s the motors stop."""
    mission = load_mission(pair_mission(tmp_path))
    links = loopback_links(mission.fleet.names)
    with VehicleServer(mission, links, Failsafe(hover_after=30.0, land_after=30.0)) as server:
        b = make_backend("crazyflie", mission.fleet.by_name("cf1"), links["cf1"])
        b.connect(5.0)
        try:
            b.arm()
            target = b.start + np.array([0.0, 0.0, 1.0])
            assert wait_for(lambda: (b.position(target), np.linalg.norm(server.ap.position[0] - target) < 0.05)[1], 8.0)
            flight = server.links[0].flight
            with server.lock:
                last = flight.t
            heights = []
            assert wait_for(lambda: (heights.append((flight.t - last, float(server.ap.position[0, 2]))),
                                     flight.t - last > 1.9)[1], 5.0)
            assert min(z for t, z in heights if t < 1.9) > 0.85                   # levelled, height held
            assert wait_for(lambda: server.ap.position[0, 2] == 0.0, 3.0)      # then cut: it dropped
            with server.lock:
                assert flight.command == [0.0, 0.0, 0.0, 0.0] and server.ap.mode[0] == "position"
        finally:
            b.close()


@needs_firmware
def test_takes_off_again_after_landing(cf):
    b, server, flight = cf
    for height in (0.6, 0.9):
        b.takeoff(height, 1.0)
        assert wait_for(lambda: abs(server.ap.position[0, 2] - height) < 0.05, 5.0)
        b.land(1.0)
        assert wait_for(lambda: not server.ap.armed[0], 6.0) and server.ap.position[0, 2] < 0.05
        # the firmware takes off again only once its planner has finished the landing trajectory
        # (touchdown comes first): a take-off sent before that is ignored, as on a real Crazyflie
        assert wait_for(lambda: _planner_stopped(server, flight), 5.0)


def _planner_stopped(server, flight) -> bool:
    with server.lock:
        return bool(firmware().plan_is_stopped(flight.planner))
