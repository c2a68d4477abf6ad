"""The Crazyflie firmware's own flight code flying a simulated Crazyflie (firmware in the loop).

With the `cffirmware` bindings installed (Crazyflie firmware 2026.08, GPL-3.0, a separate optional
package), each simulated Crazyflie runs the firmware's high-level planner (take-off, land, go-to),
a firmware controller (Mellinger by default; PID, Lee, Brescianini selectable) and its power
distribution, on a rigid body with motor lag (sim/quadrotor.py). What the C code of the firmware
does around those functions is mirrored here, step for step:

- commander: one current setpoint with a priority; a setpoint of lower priority than the current
  one is ignored; streamed (CRTP) setpoints outrank the high-level commander and stop its planner;
  notify-setpoint-stop relaxes the priority and tells the planner where the vehicle is
  (commander.c, crtp_commander.c);
- generic setpoints decoded as crtp_commander_generic.c does (stop, velocity world, full state,
  position); other types are ignored;
- high-level commander at 100 Hz: a stopped planner gives the null setpoint (motors off), a
  flying one its current goal (crtp_commander_high_level.c);
- supervisor watchdog: a setpoint older than 0.5 s is levelled, older than 2 s cut (supervisor.c);
- stabilizer at 1 kHz: controllers run on their own rates inside (RATE_DO_EXECUTE), then power
  distribution and capping; motor values are proportional to thrust (0.12 N at 65535).

Not mirrored: the state estimator (the controllers get the true state), battery compensation,
collision avoidance. The link-loss failsafe (hover, then land) is this simulator's own app on
top of the firmware: it commands the firmware's planner as an app on a real Crazyflie would.
"""
from __future__ import annotations

import math
import struct

from sim.quadrotor import GRAVITY, Quadrotor, crazyflie_params

PRIORITY_DISABLE, PRIORITY_HIGHLEVEL, PRIORITY_CRTP = 0, 1, 2
WDT_STABILIZE, WDT_SHUTDOWN = 0.5, 2.0      # s: supervisor.c COMMANDER_WDT_TIMEOUT_*
TICK = 0.001                                # s: the stabilizer loop runs at 1 kHz
HL_EVERY = 10                               # ticks: RATE_HL_COMMANDER 100 Hz
MOTOR_FULL = 65535.0
# stabilizer.controller parameter values (controller.h ControllerType) and names
CONTROLLERS = {"pid": 1, "mellinger": 2, "brescianini": 4, "lee": 5}
DEFAULT_CONTROLLER = "mellinger"
HOLD_DURATION = 1.0                         # s of the failsafe's go-to that brings the vehicle to a stop


STAND_IN = "point-mass stand-in"
PER_PROCESS = ("pid", "brescianini")        # controllers whose state the bindings keep in C globals


def crazyflie_flight(controller: str | None, count: int) -> str:
    """What the simulated Crazyflies fly: "firmware <controller>" or the point-mass stand-in (no
    controller asked for, or no bindings). ValueError for a controller the firmware has not, or
    one that keeps global state with more than one Crazyflie in the process."""
    if controller is None or firmware() is None:
        return STAND_IN
    if controller not in CONTROLLERS:
        raise ValueError(f"unknown Crazyflie controller {controller!r}; allowed: {', '.join(CONTROLLERS)}")
    if controller in PER_PROCESS and count > 1:
        raise ValueError(f"the firmware's {controller} controller keeps its state in globals of the bindings, so it "
                         f"flies one Crazyflie per process (this fleet has {count}); use mellinger or lee")
    return f"firmware {controller}"


def firmware():
    """The cffirmware module, or None where the bindings are not installed."""
    try:
        import cffirmware
    except ImportError:
        return None
    return cffirmware


class FirmwareCrazyflie:
    """One Crazyflie: firmware commander, planner, controller and power distribution on a rigid body."""

    def __init__(self, start, mass: float, controller: str = DEFAULT_CONTROLLER):
        fw = firmware()
        if fw is None:
            raise ImportError("the cffirmware bindings are not installed (pip install ../shared/cffirmware/*.whl)")
        self.fw = fw
        self.body = Quadrotor(crazyflie_params(mass), start)
        self.max_thrust = fw.powerDistributionGetMaxThrust() / 4.0      # N per motor at 65535
        self.planner = fw.planner()
        fw.plan_init(self.planner)
        self.setpoint = fw.setpoint_t()            # the commander's current setpoint: null at start
        self.priority = PRIORITY_DISABLE
        self.setpoint_time = 0.0
        self.hl_pos, self.hl_vel, self.hl_yaw = list(self.body.p), [0.0, 0.0, 0.0], 0.0   # the planner's "pos, vel, yaw"
        self.state, self.sensors = fw.state_t(), fw.sensorData_t()
        st, se = self.state, self.sensors
        self._fields = (st.position, st.velocity, st.attitude, st.attitudeQuaternion, st.acc, se.gyro, se.acc)
        self.control = fw.control_t()
        self.uncapped, self.capped = fw.motors_thrust_uncapped_t(), fw.motors_thrust_pwm_t()
        self.command = [0.0, 0.0, 0.0, 0.0]        # N per rotor
        self.tick = 0
        self.pending = 0.0                         # s of simulation time not yet stepped
        self.stopped = False                       # emergency stop: motors off until the end
        self._was_flying = False
        self.controller = ""
        self.set_controller(controller)

    @property
    def t(self) -> float:
        return self.tick * TICK

    # --- controller ----------------------------------------------------------------------------
    def set_controller(self, name: str) -> None:
        fw = self.fw
        if name not in CONTROLLERS:
            raise ValueError(f"unknown controller {name!r}; allowed: {', '.join(CONTROLLERS)}")
        if name == "mellinger":
            mem = fw.controllerMellinger_t()
            fw.controllerMellingerInit(mem)
            self._run = lambda tick: fw.controllerMellinger(mem, self.control, self.setpoint_used, self.sensors,
                                                            self.state, tick)
        elif name == "lee":
            mem = fw.controllerLee_t()
            fw.controllerLeeInit(mem)
            self._run = lambda tick: fw.controllerLee(mem, self.control, self.setpoint_used, self.sensors, self.state, tick)
        elif name == "pid":
            fw.controllerPidInit()
            self._run = lambda tick: fw.controllerPid(self.control, self.setpoint_used, self.sensors, self.state, tick)
        else:
            fw.controllerBrescianiniInit()
            self._run = lambda tick: fw.controllerBrescianini(self.control, self.setpoint_used, self.sensors,
                                                              self.state, tick)
        self.controller = name
        self.setpoint_used = self.setpoint

    def set_controller_param(self, value: int, crazyflies: int = 1) -> None:
        """stabilizer.controller written over the link: 0 (auto select) is PID, as in the firmware;
        a controller this simulation does not run (INDI), or one with global state while the process
        flies several Crazyflies, leaves the current one (the parameter reads back unchanged)."""
        names = {v: k for k, v in CONTROLLERS.items()}
        names[0] = "pid"
        name = names.get(int(value), self.controller)
        if name in PER_PROCESS and crazyflies > 1:
            name = self.controller
        self.set_controller(name)

    # --- commander ---------------------------------------------------------------------------
    def _set(self, sp, priority: int) -> None:
        if priority >= self.priority:
            self.setpoint, self.setpoint_time, self.priority = sp, self.t, priority
            if priority > PRIORITY_HIGHLEVEL:
                self.fw.plan_stop(self.planner)      # the planner forgets what it flew

    def relax_priority(self) -> None:
        """notify-setpoint-stop: the high-level commander may take over from where the vehicle is."""
        self._tell_state()
        self.priority = PRIORITY_HIGHLEVEL

    def _tell_state(self) -> None:
        b = self.body
        self.hl_pos, self.hl_vel, self.hl_yaw = list(b.p), list(b.v), b.yaw()

    def generic(self, payload: bytes) -> str | None:
        """A generic setpoint (port 7, channel 0); what it asks for: "stop", "velocity", "position" or
        None for types this simulation does not decode (ignored)."""
        fw, kind = self.fw, payload[0]
        sp = fw.setpoint_t()
        if kind == 0:
            what = "stop"
        elif kind in (1, 8) and len(payload) >= 17:
            vx, vy, vz, yawrate = struct.unpack("<ffff", payload[1:17])
            sp.mode.x = sp.mode.y = sp.mode.z = fw.modeVelocity
            sp.velocity.x, sp.velocity.y, sp.velocity.z = vx, vy, vz
            sp.mode.yaw = fw.modeVelocity
            sp.attitudeRate.yaw = -yawrate if kind == 1 else yawrate
            what = "velocity"
        elif kind == 7 and len(payload) >= 17:
            x, y, z, yaw = struct.unpack("<ffff", payload[1:17])
            sp.mode.x = sp.mode.y = sp.mode.z = fw.modeAbs
            sp.position.x, sp.position.y, sp.position.z = x, y, z
            sp.mode.yaw = fw.modeAbs
            sp.attitude.yaw = yaw
            what = "position"
        elif kind == 6 and len(payload) >= 29:
            v = struct.unpack("<hhhhhhhhhIhhh", payload[1:29])
            sp.mode.x = sp.mode.y = sp.mode.z = fw.modeAbs
            sp.position.x, sp.position.y, sp.position.z = (c / 1000.0 for c in v[0:3])
            sp.velocity.x, sp.velocity.y, sp.velocity.z = (c / 1000.0 for c in v[3:6])
            sp.acceleration.x, sp.acceleration.y, sp.acceleration.z = (c / 1000.0 for c in v[6:9])
            rate = 180.0 / (math.pi * 1000.0)
            sp.attitudeRate.roll, sp.attitudeRate.pitch, sp.attitudeRate.yaw = (c * rate for c in v[10:13])
            qx, qy, qz, qw = _decompress_quaternion(v[9])
            sp.attitudeQuaternion.x, sp.attitudeQuaternion.y, sp.attitudeQuaternion.z, sp.attitudeQuaternion.w = \
                qx, qy, qz, qw
            sp.mode.quat = fw.modeAbs
            sp.mode.roll = sp.mode.pitch = sp.mode.yaw = fw.modeDisable
            what = "velocity"
        else:
            return None
        self._set(sp, PRIORITY_CRTP)
        return what

    # --- high-level commander ----------------------------------------------------------------
    def _hl_goal(self):
        ev = self.fw.traj_eval_zero()
        ev.pos = self.fw.mkvec(*self.hl_pos)
        ev.vel = self.fw.mkvec(*self.hl_vel)
        ev.yaw = self.hl_yaw
        return ev

    def takeoff(self, height: float, yaw: float, use_current_yaw: bool, duration: float) -> bool:
        """takeoff2: refused (False) unless the planner is stopped, as in the firmware."""
        hover_yaw = self.hl_yaw if use_current_yaw else yaw
        return self.fw.plan_takeoff(self.planner, self.fw.mkvec(*self.hl_pos), self.hl_yaw, height, hover_yaw,
                                    max(duration, 1e-3), self.t) == 0

    def land(self, height: float, yaw: float, use_current_yaw: bool, duration: float) -> bool:
        """land2: refused (False) while already landing."""
        hover_yaw = self.hl_yaw if use_current_yaw else yaw
        return self.fw.plan_land(self.planner, self.fw.mkvec(*self.hl_pos), self.hl_yaw, height, hover_yaw,
                                 max(duration, 1e-3), self.t) == 0

    def go_to(self, goal, yaw: float, duration: float, relative: bool = False, linear: bool = False) -> bool:
        fw, p = self.fw, self.planner
        if fw.plan_is_disabled(p) or fw.plan_is_stopped(p):
            ev = self._hl_goal()
            return fw.plan_go_to_from(p, ev, relative, linear, fw.mkvec(*goal), yaw, max(duration, 1e-3), self.t) == 0
        return fw.plan_go_to(p, relative, linear, fw.mkvec(*goal), yaw, max(duration, 1e-3), self.t) == 0

    def hl_stop(self) -> None:
        self.fw.plan_stop(self.planner)

    def landing(self) -> bool:
        return self.planner.state == self.fw.TRAJECTORY_STATE_LANDING

    def _hl_update(self) -> None:
        fw, p = self.fw, self.planner
        ev = fw.plan_current_goal(p, self.t)            # keep `ev` alive while reading its fields
        if fw.plan_is_disabled(p) or fw.plan_is_stopped(p):
            b = self.body
            self.hl_pos, self.hl_vel, self.hl_yaw = list(b.p), list(b.v), b.yaw()
            if fw.plan_is_stopped(p):
                self._set(fw.setpoint_t(), PRIORITY_HIGHLEVEL)     # null setpoint: motors off
            return
        if not fw.is_traj_eval_valid(ev):
            fw.plan_disable(p)
            return
        sp = fw.setpoint_t()                            # (each nested struct read once: SWIG proxies cost)
        pos, vel, acc, omega, yaw = ev.pos, ev.vel, ev.acc, ev.omega, ev.yaw
        p, v = [pos.x, pos.y, pos.z], [vel.x, vel.y, vel.z]
        out = sp.position
        out.x, out.y, out.z = p
        out = sp.velocity
        out.x, out.y, out.z = v
        out = sp.acceleration
        out.x, out.y, out.z = acc.x, acc.y, acc.z
        sp.attitude.yaw = math.degrees(yaw)
        out = sp.attitudeRate
        out.roll, out.pitch, out.yaw = math.degrees(omega.x), math.degrees(omega.y), math.degrees(omega.z)
        mode = sp.mode
        mode.x = mode.y = mode.z = mode.yaw = fw.modeAbs
        mode.roll = mode.pitch = mode.quat = fw.modeDisable
        self.hl_pos, self.hl_vel, self.hl_yaw = p, v, yaw
        self._set(sp, PRIORITY_HIGHLEVEL)

    # --- the simulator's failsafe app ---------------------------------------------------------
    def hold(self) -> None:
        """Stop where the vehicle is (link-loss failsafe, first stage)."""
        self.relax_priority()
        self.go_to(self.body.p, self.hl_yaw, HOLD_DURATION)

    def land_here(self, speed: float) -> None:
        """Land below the vehicle at `speed` m/s (link-loss failsafe, second stage)."""
        if self.landing():
            return
        if self.priority > PRIORITY_HIGHLEVEL:
            self.relax_priority()
        self.land(0.0, self.hl_yaw, True, max(self.hl_pos[2] / max(speed, 1e-3), 1.0))

    # --- stabilizer --------------------------------------------------------------------------
    def _watchdog(self):
        """supervisorOverrideSetpoint: what the controller gets from a stale setpoint."""
        age = self.t - self.setpoint_time
        if age <= WDT_STABILIZE:
            return self.setpoint
        fw = self.fw
        sp = fw.setpoint_t()                            # older than WDT_SHUTDOWN: null, motors off
        if age <= WDT_SHUTDOWN:                         # level, keep the height command
            old = self.setpoint
            sp.mode.z, sp.position.z, sp.velocity.z, sp.thrust = old.mode.z, old.position.z, old.velocity.z, old.thrust
            sp.mode.x = sp.mode.y = fw.modeDisable
            sp.mode.roll = sp.mode.pitch = fw.modeAbs
            sp.mode.yaw = fw.modeVelocity
        return sp

    def _update_state(self) -> None:
        """The true state in the firmware's units: degrees (pitch inverted, legacy), g, deg/s."""
        b = self.body
        pos, vel, att, quat, acc, gyro, sacc = self._fields
        pos.x, pos.y, pos.z = b.p
        vel.x, vel.y, vel.z = b.v
        roll, pitch, yaw = b.rpy()
        att.roll, att.pitch, att.yaw = math.degrees(roll), -math.degrees(pitch), math.degrees(yaw)
        quat.w, quat.x, quat.y, quat.z = b.q
        acc.x, acc.y, acc.z = b.acc[0] / GRAVITY, b.acc[1] / GRAVITY, b.acc[2] / GRAVITY
        gyro.x, gyro.y, gyro.z = math.degrees(b.w[0]), math.degrees(b.w[1]), math.degrees(b.w[2])
        fx, fy, fz = b.specific_force_body()
        sacc.x, sacc.y, sacc.z = fx / GRAVITY, fy / GRAVITY, fz / GRAVITY

    def _stabilize(self, armed: bool) -> None:
        fw, tick = self.fw, self.tick
        flying = armed and not self.stopped
        if flying and not self._was_flying:             # armed: the controller starts afresh
            self.set_controller(self.controller)
        elif self._was_flying and not flying:           # disarmed (landed) or stopped: nothing left to fly
            fw.plan_stop(self.planner)
        self._was_flying = flying
        if not flying:
            self.command = [0.0, 0.0, 0.0, 0.0]
            self._tell_state()
            return
        if tick % HL_EVERY == 0:
            self._hl_update()
        if tick % 2:                                    # nothing in the controllers runs faster than 500 Hz
            return
        self._update_state()
        self.setpoint_used = self._watchdog()
        self._run(tick)
        fw.powerDistribution(self.control, self.uncapped)
        fw.powerDistributionCap(self.uncapped, self.capped)
        m, scale = self.capped.motors, self.max_thrust / MOTOR_FULL
        self.command = [m.m1 * scale, m.m2 * scale, m.m3 * scale, m.m4 * scale]

    def step(self, seconds: float, armed: bool) -> None:
        """Run the firmware and the body for `seconds` of simulation time (whole 1 ms ticks)."""
        self.pending += seconds
        n = int(self.pending / TICK + 1e-9)
        self.pending -= n * TICK
        for _ in range(n):
            self.tick += 1
            self._stabilize(armed)
            self.body.step(self.command, TICK)

    def attitude_deg(self) -> tuple[float, float, float]:
        return tuple(math.degrees(a) for a in self.body.rpy())


def _decompress_quaternion(comp: int) -> tuple[float, float, float, float]:
    """quatcompress.h's smallest-three decoding: (x, y, z, w) from 32 bits."""
    q = [0.0, 0.0, 0.0, 0.0]
    largest = comp >> 30
    squares = 0.0
    for i in range(3, -1, -1):
        if i != largest:
            mag, neg = comp & 511, (comp >> 9) & 1
            comp >>= 10
            q[i] = (-1 if neg else 1) * mag / 511 / math.sqrt(2)
            squares += q[i] * q[i]
    q[largest] = math.sqrt(max(0.0, 1.0 - squares))
    return q[0], q[1], q[2], q[3]
