"""PX4 backend over MAVLink (pymavlink), for a vehicle at udp://<host>:<port> (we send to the port
PX4's MAVLink instance listens on) or udpin://<host>:<port> (we listen where PX4 sends: PX4 answers
only the first address that wrote to it, so this is the form that survives reconnecting).

Sends a ground-station heartbeat at 1 Hz (PX4 sends STATUSTEXT only to a link that does, and its
data-link-loss failsafe counts them), arms with COMMAND_LONG, enters OFFBOARD with
MAV_CMD_DO_SET_MODE (PX4 custom mode 6) once setpoints stream, and keeps streaming the latest
SET_POSITION_TARGET_LOCAL_NED at 20 Hz as PX4 requires (below 2 Hz it leaves offboard).
Setpoints and telemetry are converted between the mission's ENU world frame and PX4's local
NED frame, whose horizontal origin is the vehicle's start pad (its EKF origin at power-up).
Heights are relative to the EKF height the vehicle reported on the ground before arming: PX4's
local z on the pad is not 0 (barometer offset and drift, a metre or more).
Whether the vehicle is flying comes from PX4's land detector (EXTENDED_SYS_STATE.landed_state,
asked for at 5 Hz), not from the EKF's height. The reported mode says "disarmed", "failsafe"
(HEARTBEAT.system_status CRITICAL/EMERGENCY) or "landing" where the heartbeat's mode alone
misleads (after a landing it shows the last commanded mode; in an offboard-loss failsafe it
shows POSCTL while PX4 descends). Refused commands are one line with PX4's own reason (its
STATUSTEXT). Take-off is an OFFBOARD position setpoint above the pad; landing is MAV_CMD_NAV_LAND.
On link loss PX4's own failsafes act; preflight reads their parameters (failsafe.py).
"""
from __future__ import annotations

import math
import struct
import threading
import time

import numpy as np

from ..core.frames import enu_to_ned, ned_to_enu
from .base import Backend, LinkError
from ..core.uri import listen_address, udp_address
from .px4_failsafe import FAILSAFE_PARAMS, INT_PARAMS, failsafe_problems, failsafe_timeouts

GCS_SYSTEM, GCS_COMPONENT = 255, 190
STREAM_PERIOD = 0.05          # s between repeated setpoints in offboard
ACK_TIMEOUT = 3.0             # s to wait for a COMMAND_ACK (PX4 answers an arming request after its checks)
OFFBOARD_LEAD = 1.2           # s of setpoint stream before asking for OFFBOARD (PX4 wants more than 1 s)
OFFBOARD = (6, 0)             # PX4 main/sub mode
PX4_MAIN_MODES = {1: "MANUAL", 2: "ALTCTL", 3: "POSCTL", 5: "ACRO", 6: "OFFBOARD", 7: "STABILIZED"}
PX4_AUTO_MODES = {2: "AUTO.TAKEOFF", 3: "AUTO.LOITER", 4: "AUTO.MISSION", 5: "AUTO.RTL", 6: "AUTO.LAND"}
COMMANDS = {21: "NAV_LAND", 176: "DO_SET_MODE", 400: "COMPONENT_ARM_DISARM", 511: "SET_MESSAGE_INTERVAL"}
IN_AIR = (2, 3, 4)            # MAV_LANDED_STATE in air, taking off, landing
EXTENDED_SYS_STATE = 245      # message ids
LOCAL_POSITION_NED = 32
RESULTS = {1: "temporarily rejected", 2: "denied", 3: "unsupported", 4: "failed"}
REFUSED = {400: "arming", 176: "the switch to OFFBOARD"}
LAND_TRIES = 3
PARAM_TIMEOUT = 3.0           # s for PX4 to answer a parameter read or set
REASON_WAIT = 0.5             # s to wait for the STATUSTEXT that says why a command was refused
ON_GROUND, LANDING = 1, 4     # MAV_LANDED_STATE
FAILSAFE_STATES = (5, 6)      # MAV_STATE_CRITICAL, MAV_STATE_EMERGENCY: PX4 is in a failsafe
INT_TYPES = range(1, 9)       # MAV_PARAM_TYPE_UINT8 .. INT64: PX4 sends them byte-wise in param_value
VELOCITY_ONLY = 0b0000_1101_1100_0111     # ignore position, acceleration, yaw, yaw rate
POSITION_ONLY = 0b0000_1101_1111_1000     # ignore velocity, acceleration, yaw, yaw rate


def px4_mode(custom_mode: int) -> str:
    main, sub = custom_mode >> 16 & 0xFF, custom_mode >> 24 & 0xFF
    return PX4_AUTO_MODES.get(sub, f"AUTO.{sub}") if main == 4 else PX4_MAIN_MODES.get(main, f"mode {main}")


class Px4Backend(Backend):
    kind = "px4"
    system_ids = True
    link_schemes = ("udp", "udpin")   # udpin: listen where PX4 sends (it answers only the first writer)
    telemetry_rate = 50.0

    def __init__(self, drone, uri: str):
        super().__init__(drone, uri)
        self.conn = None
        self.mav = None
        self.system = None
        self.landed_state = None       # MAV_LANDED_STATE from the land detector, once heard
        self.ground_z = 0.0            # PX4's local z (NED) on the ground before arming: heights are relative to it
        self._ground_frozen = False    # from arming until the vehicle is down and disarmed again
        self.statustext: list[tuple[float, int, str, int]] = []    # (monotonic time, severity, text, chunk id), newest last
        self._heartbeat = (False, "unknown", 0)    # armed, PX4 mode, system_status
        self._param_types: dict[str, int] = {}
        self._placed = False           # a position arrived after the land detector's state
        self._acks: dict[int, int] = {}
        self._params: dict[str, float] = {}
        self._cond = threading.Condition()
        self._setpoint = None          # (type mask, NED position, NED velocity) streamed in offboard
        self._stop = threading.Event()
        self._threads = []

    # --- link --------------------------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        from pymavlink import mavutil
        listen = listen_address(self.uri)
        host, port = listen or udp_address(self.uri) or (None, None)
        if host is None:
            raise LinkError(f"{self.name} ({self.uri}): PX4 links are udp://<host>:<port> or udpin://<host>:<port>")
        try:
            self.conn = mavutil.mavlink_connection(f"{'udpin' if listen else 'udpout'}:{host}:{port}",
                                                   source_system=GCS_SYSTEM, source_component=GCS_COMPONENT,
                                                   dialect="common")
        except OSError as err:
            raise LinkError(f"{self.name} ({self.uri}): cannot listen there: {err.strerror}") from None
        self.mav = self.conn.mav
        self._threads = [threading.Thread(target=self._receive, daemon=True, name=f"{self.name}-rx"),
                         threading.Thread(target=self._stream, daemon=True, name=f"{self.name}-tx")]
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + timeout
        with self._cond:
            heard = self._cond.wait_for(lambda: self.system is not None, timeout)
        if heard:
            self._command(511, float(EXTENDED_SYS_STATE), 200_000.0, wait=False)    # land detector at 5 Hz
            # position at the rate link quality is measured against (PX4's default rate depends on the link's mode)
            self._command(511, float(LOCAL_POSITION_NED), 1e6 / self.telemetry_rate, wait=False)
        with self._cond:
            if not (heard and self._cond.wait_for(lambda: self._placed and not math.isnan(self._state.battery),
                                                  deadline - time.monotonic())):
                self.close()
                raise LinkError(f"{self.name} ({self.uri}): no MAVLink heartbeat, position, battery and landed state "
                                f"(EXTENDED_SYS_STATE) within {timeout:g} s")
        self._sample(connected=True)

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.conn.recv_match(blocking=True, timeout=0.1)
            except (OSError, ConnectionError):
                time.sleep(0.1)           # nobody listening yet (ICMP refused): keep trying
                continue
            if msg is not None:
                self._on_message(msg)

    def _on_message(self, msg) -> None:
        kind = msg.get_type()
        if kind == "HEARTBEAT" and msg.autopilot != 8:          # 8: MAV_AUTOPILOT_INVALID (another GCS)
            with self._cond:
                self.system = msg.get_srcSystem()
                self._cond.notify_all()
            armed = bool(msg.base_mode & 128)
            if self._heartbeat[0] and not armed:
                self._ground_frozen = False          # disarmed (landed): the next arming takes a new ground
            self._heartbeat = (armed, px4_mode(msg.custom_mode), msg.system_status)
            self._report_mode()
        elif kind == "LOCAL_POSITION_NED":
            if not self._ground_frozen and self.landed_state == ON_GROUND and not self._heartbeat[0]:
                self.ground_z = msg.z
            self._placed = self.landed_state is not None        # a height measured against the right ground
            p = ned_to_enu([msg.x, msg.y, msg.z - self.ground_z]) + self.start
            self._sample(position=p, velocity=ned_to_enu([msg.vx, msg.vy, msg.vz]), connected=True)
            with self._cond:
                self._cond.notify_all()
        elif kind == "SYS_STATUS" and msg.battery_remaining >= 0:
            self._sample(battery=float(msg.battery_remaining))
            with self._cond:
                self._cond.notify_all()
        elif kind == "EXTENDED_SYS_STATE":
            self._sample(airborne=msg.landed_state in IN_AIR)
            with self._cond:
                self.landed_state = msg.landed_state
                self._cond.notify_all()
            self._report_mode()
        elif kind == "STATUSTEXT":
            text = (msg.text if isinstance(msg.text, str) else msg.text.decode(errors="replace")).rstrip("\0")
            with self._cond:
                last = self.statustext[-1] if self.statustext else None
                if getattr(msg, "id", 0) and msg.chunk_seq > 0 and last and last[3] == msg.id:   # a long text's next chunk
                    self.statustext[-1] = (last[0], last[1], last[2] + text, msg.id)
                else:
                    self.statustext = self.statustext[-49:] + [(time.monotonic(), msg.severity, text, getattr(msg, "id", 0))]
                self._cond.notify_all()
        elif kind == "COMMAND_ACK":
            with self._cond:
                self._acks[msg.command] = msg.result
                self._cond.notify_all()
        elif kind == "PARAM_VALUE":
            name = msg.param_id.rstrip("\0") if isinstance(msg.param_id, str) else msg.param_id.decode().rstrip("\0")
            as_int = msg.param_type in INT_TYPES
            value = struct.unpack("<i", struct.pack("<f", msg.param_value))[0] if as_int else msg.param_value
            with self._cond:
                self._params[name] = float(value)
                self._param_types[name] = msg.param_type
                self._cond.notify_all()

    def _report_mode(self) -> None:
        """The mode as it is, not as the heartbeat's custom mode alone says."""
        armed, mode, status = self._heartbeat
        if not armed:
            mode = "disarmed"
        elif status in FAILSAFE_STATES:
            mode = f"failsafe ({mode})"
        elif self.landed_state == LANDING and mode != "AUTO.LAND":
            mode = f"landing ({mode})"
        self._sample(armed=armed, mode=mode)

    def _stream(self) -> None:
        """GCS heartbeat at 1 Hz; the latest setpoint at 20 Hz while one is set."""
        next_beat = 0.0
        while not self._stop.wait(STREAM_PERIOD):
            now = time.monotonic()
            try:
                if now >= next_beat:
                    next_beat = now + 1.0
                    self.mav.heartbeat_send(6, 8, 0, 0, 4)     # MAV_TYPE_GCS, MAV_AUTOPILOT_INVALID, active
                if self._setpoint is not None:
                    self._send_setpoint(*self._setpoint)
            except OSError:
                pass

    def _send_setpoint(self, mask: int, p, v) -> None:
        if self.system is None:
            return
        self.mav.set_position_target_local_ned_send(int(time.monotonic() * 1000) & 0xFFFFFFFF, self.system, 1, 1,
                                                    mask, *p, *v, 0.0, 0.0, 0.0, 0.0, 0.0)

    def _command(self, command: int, *params, wait: bool = True) -> None:
        params = list(params) + [0.0] * (7 - len(params))
        with self._cond:
            self._acks.pop(command, None)
            sent = time.monotonic()
        self.mav.command_long_send(self.system, 1, command, 0, *params)
        if not wait:
            return
        with self._cond:
            if not self._cond.wait_for(lambda: command in self._acks, ACK_TIMEOUT):
                raise LinkError(f"{self.name} ({self.uri}): no answer to MAV_CMD_{COMMANDS.get(command, command)}")
            if self._acks[command] != 0:
                result = RESULTS.get(self._acks[command], f"result {self._acks[command]}")
                what = REFUSED.get(command, f"MAV_CMD_{COMMANDS.get(command, command)}")
                if self._cond.wait_for(lambda: any(t >= sent for t, *_ in self.statustext), REASON_WAIT):
                    self._cond.wait(0.1)                # the rest of a text sent in chunks
                reasons = [text.strip() for t, severity, text, _ in self.statustext if t >= sent and severity <= 4]
                why = "; ".join(dict.fromkeys(reasons)) or "PX4 sent no reason (STATUSTEXT); its EVENT log in QGroundControl has it"
                raise LinkError(f"{self.name} ({self.uri}): {what} {result} by PX4: {why}")

    def identity(self) -> int | None:
        return self.system

    # --- parameters --------------------------------------------------------------------------
    def parameters(self, names) -> dict:
        """PX4's current values (fresh reads, never the cache: a value set elsewhere must show)."""
        with self._cond:
            for name in names:
                self._params.pop(name, None)
        for name in names:
            self.mav.param_request_read_send(self.system, 1, name.encode(), -1)
        with self._cond:
            self._cond.wait_for(lambda: all(n in self._params for n in names), PARAM_TIMEOUT)
            return {n: self._params[n] for n in names if n in self._params}

    def set_parameter(self, name: str, value) -> None:
        """Set and wait until PX4 echoes the new value (LinkError if it does not). A PARAM_VALUE that
        still carries the old value (the answer to an earlier read, late on a loaded machine) is not
        the echo."""
        kind = self._param_types.get(name, 6 if name in INT_PARAMS else 9)
        if kind in INT_TYPES:
            wanted = float(int(value))
            raw = struct.unpack("<f", struct.pack("<i", int(value)))[0]
        else:
            wanted = raw = float(value)
        echoed = lambda: name in self._params and math.isclose(self._params[name], wanted, rel_tol=1e-6, abs_tol=1e-6)  # noqa: E731
        with self._cond:
            self._params.pop(name, None)
        self.mav.param_set_send(self.system, 1, name.encode(), raw, kind)
        with self._cond:
            if not self._cond.wait_for(echoed, PARAM_TIMEOUT):
                now = f" (PX4 says {self._params[name]:g})" if name in self._params else ""
                raise LinkError(f"{self.name} ({self.uri}): no answer to setting parameter {name} to {value:g}{now}")

    def failsafe_timeouts(self) -> tuple[float, float]:
        return failsafe_timeouts(self.parameters(FAILSAFE_PARAMS))

    def failsafe_problems(self) -> list[str]:
        return failsafe_problems(self.parameters(FAILSAFE_PARAMS))

    # --- flight ------------------------------------------------------------------------------
    def arm(self) -> None:
        """Stream a hold-still setpoint, switch to OFFBOARD, arm (PX4 accepts OFFBOARD only after the
        stream has run for over a second)."""
        self.landing = False
        self._ground_frozen = True                      # heights from here on are above this ground
        self._setpoint = (VELOCITY_ONLY, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        time.sleep(OFFBOARD_LEAD)
        try:
            self._command(176, 1.0, *OFFBOARD)          # MAV_CMD_DO_SET_MODE, custom mode enabled
            self._command(400, 1.0)                     # MAV_CMD_COMPONENT_ARM_DISARM
        except LinkError:
            self._setpoint, self._ground_frozen = None, False
            raise

    def velocity(self, v) -> None:
        if self.landing:
            return
        self._setpoint = (VELOCITY_ONLY, (0.0, 0.0, 0.0), tuple(enu_to_ned(v).tolist()))
        self._send_setpoint(*self._setpoint)

    def position(self, p) -> None:
        if self.landing:
            return
        ned = enu_to_ned(np.asarray(p, float) - self.start) + (0.0, 0.0, self.ground_z)
        self._setpoint = (POSITION_ONLY, tuple(ned.tolist()), (0.0, 0.0, 0.0))
        self._send_setpoint(*self._setpoint)

    def takeoff(self, height: float, duration: float) -> None:
        """Climb to `height` above the pad, straight up, in OFFBOARD (after arm()). Not NAV_TAKEOFF:
        its altitude (param7) is AMSL and needs a global position fix, which indoor and mocap flights
        lack; PX4 limits the climb rate itself (MPC_Z_VEL_MAX_UP), so `duration` is not used."""
        p = self.state().position
        self.position((p[0], p[1], self.start[2] + float(height)))

    def land(self, duration: float) -> None:
        """MAV_CMD_NAV_LAND, answered (asked again if an answer is lost); PX4 disarms once down. The
        stream holds the vehicle still until PX4 has taken the command."""
        self.landing = True
        self._setpoint = (VELOCITY_ONLY, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        try:
            for attempt in range(LAND_TRIES):
                try:
                    self._command(21)
                    return
                except LinkError:
                    if attempt == LAND_TRIES - 1:
                        raise
        finally:
            self._setpoint = None

    def emergency_stop(self) -> None:
        self.landing = True
        self._setpoint = None
        self._command(400, 0.0, 21196.0, wait=False)    # forced disarm (PX4's kill)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=1)
        if self.conn is not None:
            self.conn.close()
        self._sample(connected=False)
