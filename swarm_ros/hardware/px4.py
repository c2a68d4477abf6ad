"""PX4 backend over MAVLink (pymavlink), for a vehicle at udp://<host>:<port>.

Sends a ground-station heartbeat at 1 Hz, arms with COMMAND_LONG, enters OFFBOARD with
MAV_CMD_DO_SET_MODE (PX4 custom mode 6) once setpoints stream, and keeps streaming the latest
SET_POSITION_TARGET_LOCAL_NED at 20 Hz as PX4 requires (below 2 Hz it leaves offboard).
Setpoints and telemetry are converted between the mission's ENU world frame and PX4's local
NED frame, whose origin is the vehicle's start pad (its EKF origin at power-up).
Whether the vehicle is flying comes from PX4's land detector (EXTENDED_SYS_STATE.landed_state,
asked for at 5 Hz), not from the EKF's height, which drifts with the barometer on the ground.
Take-off is an OFFBOARD position setpoint above the pad; landing is MAV_CMD_NAV_LAND. On link
loss PX4's own failsafes act (COM_OF_LOSS_T: hold; COM_DL_LOSS_T with NAV_DLL_ACT = 3: land);
preflight reads them.
"""
from __future__ import annotations

import math
import struct
import threading
import time

import numpy as np

from ..core.frames import enu_to_ned, ned_to_enu
from .base import Backend, LinkError
from ..core.uri import udp_address

GCS_SYSTEM, GCS_COMPONENT = 255, 190
STREAM_PERIOD = 0.05          # s between repeated setpoints in offboard
ACK_TIMEOUT = 1.0             # s to wait for a COMMAND_ACK
OFFBOARD_LEAD = 1.2           # s of setpoint stream before asking for OFFBOARD (PX4 wants more than 1 s)
OFFBOARD = (6, 0)             # PX4 main/sub mode
PX4_MAIN_MODES = {1: "MANUAL", 2: "ALTCTL", 3: "POSCTL", 5: "ACRO", 6: "OFFBOARD", 7: "STABILIZED"}
PX4_AUTO_MODES = {2: "AUTO.TAKEOFF", 3: "AUTO.LOITER", 4: "AUTO.MISSION", 5: "AUTO.RTL", 6: "AUTO.LAND"}
INT_PARAMS = {"COM_DL_LOSS_T", "NAV_DLL_ACT"}
COMMANDS = {21: "NAV_LAND", 176: "DO_SET_MODE", 400: "COMPONENT_ARM_DISARM", 511: "SET_MESSAGE_INTERVAL"}
IN_AIR = (2, 3, 4)            # MAV_LANDED_STATE in air, taking off, landing
EXTENDED_SYS_STATE = 245      # message ids
LOCAL_POSITION_NED = 32
RESULTS = {1: "temporarily rejected", 2: "denied", 3: "unsupported", 4: "failed"}
VELOCITY_ONLY = 0b0000_1101_1100_0111     # ignore position, acceleration, yaw, yaw rate
POSITION_ONLY = 0b0000_1101_1111_1000     # ignore velocity, acceleration, yaw, yaw rate


def px4_mode(custom_mode: int) -> str:
    main, sub = custom_mode >> 16 & 0xFF, custom_mode >> 24 & 0xFF
    return PX4_AUTO_MODES.get(sub, f"AUTO.{sub}") if main == 4 else PX4_MAIN_MODES.get(main, f"mode {main}")


class Px4Backend(Backend):
    kind = "px4"
    system_ids = True
    telemetry_rate = 50.0

    def __init__(self, drone, uri: str):
        super().__init__(drone, uri)
        self.conn = None
        self.mav = None
        self.system = None
        self.landed_state = None       # MAV_LANDED_STATE from the land detector, once heard
        self._acks: dict[int, int] = {}
        self._params: dict[str, float] = {}
        self._cond = threading.Condition()
        self._setpoint = None          # (type mask, NED position, NED velocity) streamed in offboard
        self._stop = threading.Event()
        self._threads = []

    # --- link --------------------------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        from pymavlink import mavutil
        host, port = udp_address(self.uri) or (None, None)
        if host is None:
            raise LinkError(f"{self.name} ({self.uri}): PX4 links are udp://<host>:<port>")
        self.conn = mavutil.mavlink_connection(f"udpout:{host}:{port}", source_system=GCS_SYSTEM,
                                               source_component=GCS_COMPONENT, dialect="common")
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
            if not (heard and self._cond.wait_for(lambda: self._state.stamp > 0 and not math.isnan(self._state.battery)
                                                  and self.landed_state is not None, deadline - time.monotonic())):
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
            self._sample(armed=bool(msg.base_mode & 128), mode=px4_mode(msg.custom_mode))
        elif kind == "LOCAL_POSITION_NED":
            p = ned_to_enu([msg.x, msg.y, msg.z]) + self.start
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
        elif kind == "COMMAND_ACK":
            with self._cond:
                self._acks[msg.command] = msg.result
                self._cond.notify_all()
        elif kind == "PARAM_VALUE":
            name = msg.param_id.rstrip("\0") if isinstance(msg.param_id, str) else msg.param_id.decode().rstrip("\0")
            value = struct.unpack("<i", struct.pack("<f", msg.param_value))[0] if name in INT_PARAMS else msg.param_value
            with self._cond:
                self._params[name] = float(value)
                self._cond.notify_all()

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
        self.mav.command_long_send(self.system, 1, command, 0, *params)
        if not wait:
            return
        with self._cond:
            if not self._cond.wait_for(lambda: command in self._acks, ACK_TIMEOUT):
                raise LinkError(f"{self.name} ({self.uri}): no answer to MAV_CMD_{COMMANDS.get(command, command)}")
            if self._acks[command] != 0:
                result = RESULTS.get(self._acks[command], f"result {self._acks[command]}")
                raise LinkError(f"{self.name} ({self.uri}): MAV_CMD_{COMMANDS.get(command, command)} {result}")

    def identity(self) -> int | None:
        return self.system

    # --- parameters --------------------------------------------------------------------------
    def parameters(self, names) -> dict:
        for name in names:
            self.mav.param_request_read_send(self.system, 1, name.encode(), -1)
        with self._cond:
            self._cond.wait_for(lambda: all(n in self._params for n in names), 2.0)
            return {n: self._params[n] for n in names if n in self._params}

    def set_parameter(self, name: str, value) -> None:
        if name in INT_PARAMS:
            raw, kind = struct.unpack("<f", struct.pack("<i", int(value)))[0], 6
        else:
            raw, kind = float(value), 9
        self.mav.param_set_send(self.system, 1, name.encode(), raw, kind)

    def failsafe_timeouts(self) -> tuple[float, float]:
        p = self.parameters(["COM_OF_LOSS_T", "COM_DL_LOSS_T", "NAV_DLL_ACT"])
        if p.get("NAV_DLL_ACT") != 3:       # 3 = land; other actions do not land on link loss
            return p.get("COM_OF_LOSS_T", math.nan), math.inf
        return p.get("COM_OF_LOSS_T", math.nan), p.get("COM_DL_LOSS_T", math.nan)

    # --- flight ------------------------------------------------------------------------------
    def arm(self) -> None:
        """Stream a hold-still setpoint, switch to OFFBOARD, arm (PX4 accepts OFFBOARD only after the
        stream has run for over a second)."""
        self.landing = False
        self._setpoint = (VELOCITY_ONLY, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        time.sleep(OFFBOARD_LEAD)
        self._command(176, 1.0, *OFFBOARD)              # MAV_CMD_DO_SET_MODE, custom mode enabled
        self._command(400, 1.0)                         # MAV_CMD_COMPONENT_ARM_DISARM

    def velocity(self, v) -> None:
        if self.landing:
            return
        self._setpoint = (VELOCITY_ONLY, (0.0, 0.0, 0.0), tuple(enu_to_ned(v).tolist()))
        self._send_setpoint(*self._setpoint)

    def position(self, p) -> None:
        if self.landing:
            return
        self._setpoint = (POSITION_ONLY, tuple(enu_to_ned(np.asarray(p, float) - self.start).tolist()), (0.0, 0.0, 0.0))
        self._send_setpoint(*self._setpoint)

    def takeoff(self, height: float, duration: float) -> None:
        """Climb to `height` above the pad, straight up, in OFFBOARD (after arm()). Not NAV_TAKEOFF:
        its altitude (param7) is AMSL and needs a global position fix, which indoor and mocap flights
        lack; PX4 limits the climb rate itself (MPC_Z_VEL_MAX_UP), so `duration` is not used."""
        p = self.state().position
        self.position((p[0], p[1], self.start[2] + float(height)))

    def land(self, duration: float) -> None:
        self.landing = True
        self._setpoint = None
        self._command(21, wait=False)                   # MAV_CMD_NAV_LAND; PX4 disarms once down

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
