"""The PX4 backend against the real PX4 v1.16 (SITL with its SIH simulator, ../shared/px4-sih):
offboard take-off, velocity and position setpoints and landing with two vehicles at once, PX4's own
failsafe on setpoint loss, and preflight refusals (wrong system id, failsafe settings, low battery
with PX4's own words for refusing to arm). SIH's ground truth is the judge; PX4's estimate drifts
(barometer, GPS), so positions carry tolerances of tens of centimetres."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hwutil import FIRST_FLIGHT, wait_for
from swarm_ros.hardware.base import LinkError
from swarm_ros.hardware.preflight import Limits, check_vehicle
from swarm_ros.hardware.px4 import Px4Backend
from swarm_ros.mission import load_mission

px4_sih = pytest.importorskip("sim.vehicles.px4_sih")
try:
    DIST = px4_sih.find_px4()
except px4_sih.Px4NotFound as err:
    pytest.skip(f"real PX4 not available: {err}", allow_module_level=True)

INJECT_FAILURE, BATTERY, FAILURE_OFF, FAILURE_OK = 420, 100, 1, 0     # MAV_CMD_INJECT_FAILURE, FAILURE_UNIT/TYPE
UP = 1.5            # m above the pad


@pytest.fixture(scope="module")
def mission():
    return load_mission(FIRST_FLIGHT)


@pytest.fixture(scope="module")
def px4(mission, tmp_path_factory):
    """The first_flight fleet's two X500s (sysid 1 and 2, on their pads) as real PX4 processes."""
    drones = [d for d in mission.fleet.drones if d.sysid is not None]
    fleet = px4_sih.Px4SihFleet(drones, tmp_path_factory.mktemp("px4")).start()
    yield fleet
    fleet.stop(remove=True)


@pytest.fixture
def backends(mission, px4):
    out = {n: Px4Backend(mission.fleet.by_name(n), uri) for n, uri in px4.links().items()}
    try:
        for b in out.values():
            b.connect(10.0)
        yield out
    finally:
        put_down(out.values())
        for b in out.values():
            b.close()


def put_down(backends) -> None:
    """Land what a failed test left flying, so the module's next tests start on the ground."""
    flying = [b for b in backends if b.conn is not None and b.state().armed]
    for b in flying:
        try:
            b.land(6.0)
        except LinkError:
            b.emergency_stop()
    wait_for(lambda: all(landed_and_disarmed(b) for b in flying), 40.0, step=0.2)


def truth(px4, name) -> np.ndarray:
    return px4.truth.snapshot()[0][list(px4.vehicles).index(name)]


def refusals(mission, b, about: str) -> list[str]:
    """Preflight's lines that mention `about` (the vehicles flew earlier in the module: off their pads)."""
    return [p for p in check_vehicle(mission, b, Limits()).problems if about in p]


def landed_and_disarmed(b) -> bool:
    s = b.state()
    return not s.armed and not s.airborne


def test_instances_are_the_fleets_vehicles_on_their_pads(mission, px4, backends):
    assert len({v.instance for v in px4.vehicles.values()}) == 2
    for name, b in backends.items():
        d = mission.fleet.by_name(name)
        assert b.identity() == d.sysid                                    # MAV_SYS_ID from the fleet file
        assert np.linalg.norm(truth(px4, name)[:2] - d.start[:2]) < 0.1    # SIH starts on the fleet's pad
        s = b.state()
        assert s.mode == "disarmed" and not s.airborne and s.battery > 50
        assert abs(s.position[2] - d.start[2]) < 0.05        # heights from PX4's own ground estimate, not its raw z
        assert check_vehicle(mission, b, Limits()).problems == []


def test_two_vehicles_take_off_fly_velocity_and_position_setpoints_and_land(px4, backends):
    ground = {n: truth(px4, n).copy() for n in backends}
    threads = [threading.Thread(target=b.arm) for b in backends.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(b.state().armed or wait_for(lambda b=b: b.state().armed, 3.0) for b in backends.values())
    for b in backends.values():
        b.takeoff(UP, 3.0)
    assert wait_for(lambda: all(truth(px4, n)[2] - ground[n][2] > UP - 0.5 for n in backends), 25.0, step=0.1)
    assert all(b.state().airborne and b.state().mode == "OFFBOARD" for b in backends.values())
    assert wait_for(lambda: all(np.linalg.norm(px4.truth.snapshot()[1][k]) < 0.15 for k in range(2)), 15.0, step=0.1)
    before = {n: truth(px4, n).copy() for n in backends}
    asked = {"x1": np.array([0.5, 0.0, 0.0]), "x2": np.array([0.0, 0.5, 0.0])}     # east, north
    along = lambda n, v: float(np.dot(v, asked[n]) / 0.5)                           # noqa: E731
    at_speed: dict[str, int] = {}                 # ticks since each vehicle's estimate reached the speed
    moved: dict[str, float] = {}                  # truth's way along the asked direction 2 s after that

    def flying_as_asked():
        for n, b in backends.items():
            if n in moved:
                continue
            b.velocity(asked[n])
            if n in at_speed or along(n, b.state().velocity) > 0.35:
                at_speed[n] = at_speed.get(n, -1) + 1
                if at_speed[n] == 20:
                    moved[n] = along(n, truth(px4, n) - before[n])
                    # Then hold position: velocity setpoints alone have no position feedback, and
                    # SIH's EKF velocity drifts from its own truth by up to ~0.3 m/s for seconds
                    # (measured here, GPS following the truth): 1.5 m up, that can end on the ground.
                    b.position(b.state().position)
        return len(moved) == len(backends)
    assert wait_for(flying_as_asked, 9.0, step=0.1), {n: b.state().velocity for n, b in backends.items()}
    # SIH's truth moved that way too (less whatever the estimate's heading error and a starved
    # simulator take: on a loaded machine PX4 runs behind the wall clock)
    assert all(m > 0.3 for m in moved.values()), moved
    targets = {n: b.start + np.array([1.0, 1.0, 2.0]) for n, b in backends.items()}
    for n, b in backends.items():
        b.position(targets[n])
    # Each vehicle's estimate reaches its target, judged one vehicle at a time: in hover the estimate
    # circles a position setpoint 0.4 m away (median; up to 0.95 m), its velocity off the truth by
    # 0.3 m/s and its yaw by 11-19 degrees (SIH's EKF; bench/px4_hover_drift.py), so both at once
    # within 0.3 m can take longer than any fixed wait. A frame error (sign, start, ground) keeps one
    # 1 m or more away.
    closest = {n: np.inf for n in backends}

    def reached():
        for n, b in backends.items():
            closest[n] = min(closest[n], float(np.linalg.norm(b.state().position - targets[n])))
        return all(c < 0.5 for c in closest.values())
    assert wait_for(reached, 20.0, step=0.1), {n: (round(closest[n], 2), b.state().mode) for n, b in backends.items()}
    # SIH's truth is there too, within the estimate's drift (GPS ~0.6 m, barometer ~1 m measured
    # here), averaged over 4 s so the wander does not decide
    seen = []
    for _ in range(40):
        seen.append([truth(px4, n) - targets[n] for n in backends])
        time.sleep(0.1)
    off = np.mean(seen, axis=0)
    assert all(np.linalg.norm(o[:2]) < 1.0 and abs(o[2]) < 1.2 for o in off), dict(zip(backends, off.round(2)))
    for b in backends.values():
        b.land(6.0)
    assert wait_for(lambda: all(landed_and_disarmed(b) for b in backends.values()), 40.0, step=0.2)
    assert all(abs(truth(px4, n)[2] - ground[n][2]) < 0.4 for n in backends)
    assert all(b.state().mode == "disarmed" for b in backends.values())     # not the heartbeat's stale OFFBOARD


def test_setpoint_loss_is_px4s_own_failsafe_and_it_lands_by_itself(px4, backends):
    """Setpoints stop, heartbeats go on (default COM_OBL_RC_ACT = 0, position mode, no RC): PX4
    declares a failsafe, descends and lands and disarms with no command from us. The heartbeat
    says POSCTL throughout; the backend reports the failsafe."""
    b = backends["x1"]
    assert b.parameters(["COM_OBL_RC_ACT"]) == {"COM_OBL_RC_ACT": 0}
    b.arm()
    b.takeoff(UP, 3.0)
    assert wait_for(lambda: b.state().position[2] - b.start[2] > UP - 0.3, 25.0, step=0.1)
    b._setpoint = None                       # the stream stops (the drone node died), the link stays
    assert wait_for(lambda: b.state().mode.startswith("failsafe"), 6.0, step=0.05), b.state().mode
    assert b._heartbeat[1] == "POSCTL"       # what the heartbeat alone would have said
    assert any("Failsafe" in text for _, _, text, _ in b.statustext)     # STATUSTEXT reaches a link that sends heartbeats
    assert wait_for(lambda: landed_and_disarmed(b), 30.0, step=0.1), b.state()


def test_preflight_refuses_failsafe_settings_that_would_not_hold_or_land(mission, backends):
    b = backends["x2"]
    try:
        b.set_parameter("COM_OBL_RC_ACT", 7)           # disarm on offboard loss: the vehicle would fall
        b.set_parameter("NAV_DLL_ACT", 2)              # return at RTL_RETURN_ALT across the swarm
        problems = refusals(mission, b, "action")
        assert [p.split(": ", 1)[1].split(" would")[0] for p in problems] == [
            "offboard-loss action COM_OBL_RC_ACT=7 (disarm)", "data-link-loss action NAV_DLL_ACT=2 (return)"], problems
        assert all(p.startswith(f"x2 ({b.uri}): ") and "\n" not in p for p in problems)
        b.set_parameter("COM_OBL_RC_ACT", 5)           # hold; and no data-link-loss action: holds forever
        b.set_parameter("NAV_DLL_ACT", 0)
        check = check_vehicle(mission, b, Limits())
        assert check.failsafe == (1.0, float("inf"))
        assert refusals(mission, b, "link loss") == [f"x2 ({b.uri}): does not land on link loss (hold 1 s, land inf s); "
                                  "see the hardware checklist in docs/concepts/hardware.md"]
        b.set_parameter("NAV_DLL_ACT", 3)              # hold, then land COM_DL_LOSS_T + COM_FAIL_ACT_T after the link went
        check = check_vehicle(mission, b, Limits())
        assert refusals(mission, b, "link loss") == [] and check.failsafe == (1.0, 15.0)
    finally:
        b.set_parameter("COM_OBL_RC_ACT", 0)
        b.set_parameter("NAV_DLL_ACT", 0)


def test_preflight_refuses_a_vehicle_with_another_system_id(mission, px4):
    """x1's fleet entry on x2's link: both are on their pads (positions are pad-relative), only
    PX4's MAV_SYS_ID tells them apart."""
    b = Px4Backend(mission.fleet.by_name("x1"), px4.links()["x2"])
    try:
        b.connect(10.0)
        problems = refusals(mission, b, "MAVLink system")
    finally:
        b.close()
    assert problems == [f"x1 ({px4.links()['x2']}): heartbeat from MAVLink system 2 (x2's), expected x1's 1: wrong "
                        "vehicle on this link (links swapped, or MAV_SYS_ID differs from the fleet's sysid)"]


def test_low_battery_fails_preflight_and_px4_refuses_to_arm_with_its_reason(mission, backends):
    """PX4's battery failure injection (SYS_FAILURE_EN = 1 in SITL) drops its battery estimate; our
    preflight refuses it, and arming anyway is refused by PX4 (COM_ARM_BAT_MIN: it arms on a low
    battery by default) in one line that carries its reason."""
    b = backends["x2"]
    b._command(INJECT_FAILURE, BATTERY, FAILURE_OFF)
    b.set_parameter("COM_ARM_BAT_MIN", 0.5)
    try:
        assert wait_for(lambda: b.state().battery < 30, 10.0), b.state().battery
        problems = refusals(mission, b, "battery")
        assert len(problems) == 1 and problems[0].startswith(f"x2 ({b.uri}): battery ") \
            and problems[0].endswith("is below the 30 % minimum"), problems
        with pytest.raises(LinkError) as err:
            b.arm()
        line = str(err.value)
        assert line.startswith(f"x2 ({b.uri}): arming ") and " by PX4: " in line and "\n" not in line, line
        assert line.split(" by PX4: ", 1)[1].startswith("Arming denied: "), line     # PX4's words (details: EVENT)
        assert not b.state().armed
    finally:
        if b.state().armed:
            b.emergency_stop()
        b.set_parameter("COM_ARM_BAT_MIN", -1.0)
        b._command(INJECT_FAILURE, BATTERY, FAILURE_OK)
