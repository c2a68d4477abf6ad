"""A simulated PX4-like vehicle as a MAVLink ground station sees it (MAVLink 2 over UDP).

It sends HEARTBEAT (PX4 autopilot, custom modes), LOCAL_POSITION_NED and ATTITUDE at 50 Hz,
SYS_STATUS, BATTERY_STATUS and EXTENDED_SYS_STATE; it takes COMMAND_LONG (arm/disarm,
DO_SET_MODE, NAV_TAKEOFF, NAV_LAND, REQUEST_MESSAGE, SET_MESSAGE_INTERVAL), SET_MODE,
SET_POSITION_TARGET_LOCAL_NED and parameter requests. As on PX4: offboard mode is accepted only
while setpoints stream; setpoint loss for COM_OF_LOSS_T turns into hold (AUTO.LOITER); no data
from the ground station for COM_DL_LOSS_T lands the vehicle (NAV_DLL_ACT = land). Its local
NED origin is its start pad, as PX4's EKF origin is where it was powered up.
"""
from __future__ import annotations

import math
import struct

import numpy as np
from pymavlink.dialects.v20 import common as mav

from swarm_ros.core.frames import enu_to_ned, ned_to_enu

# PX4 custom modes: main mode in bits 16-23, sub mode in bits 24-31
PX4_MODES = {"POSCTL": (3, 0), "OFFBOARD": (6, 0), "AUTO.TAKEOFF": (4, 2), "AUTO.LOITER": (4, 3),
             "AUTO.LAND": (4, 6)}
SETPOINT_FRESH = 0.5    # s: offboard is refused unless a setpoint arrived this recently
INT_PARAMS = {"COM_DL_LOSS_T", "NAV_DLL_ACT", "COM_OBL_RC_ACT"}
HOLD, LAND = 5, 3       # COM_OBL_RC_ACT hold, NAV_DLL_ACT land: what this imitation does on setpoint / link loss


def _int(value: float, default: int = 0) -> int:
    """A COMMAND_LONG parameter as an integer; clients send NaN for the ones they do not use."""
    return int(value) if math.isfinite(value) else default


def px4_custom_mode(name: str) -> int:
    main, sub = PX4_MODES[name]
    return main << 16 | sub << 24


def px4_mode_name(custom_mode: int) -> str:
    main, sub = custom_mode >> 16 & 0xFF, custom_mode >> 24 & 0xFF
    for name, (m, s) in PX4_MODES.items():
        if m == main and (s == sub or m != 4):
            return name
    return f"custom {main}.{sub}"


class MavlinkVehicle:
    """The MAVLink side of vehicle `k` of an Autopilot."""

    def __init__(self, autopilot, k: int, start, vehicle, system_id: int, battery: float = 95.0):
        self.ap, self.k, self.start = autopilot, k, np.asarray(start, float)
        self.mav = mav.MAVLink(None, srcSystem=system_id, srcComponent=1)
        self.mav.robust_parsing = True
        self.battery = battery
        fs = autopilot.failsafe[k]
        # PX4's failsafe parameters with the values whose behaviour this imitation flies (hold on
        # setpoint loss, land on link loss without a hold delay); COM_DL_LOSS_T is an integer on PX4
        self.params = {"COM_OF_LOSS_T": fs.hover_after, "COM_OBL_RC_ACT": HOLD, "COM_DL_LOSS_T": fs.land_after,
                       "NAV_DLL_ACT": LAND, "COM_FAIL_ACT_T": 0.0,
                       "MPC_XY_VEL_MAX": vehicle.max_speed, "MPC_Z_VEL_MAX_UP": vehicle.max_climb,
                       "MPC_Z_VEL_MAX_DN": vehicle.max_descent, "MPC_LAND_SPEED": fs.land_speed}
        self.mode = "POSCTL"
        self.commanded = "POSCTL"           # the last mode a ground station asked for
        self.failsafe = False               # a link-loss failsafe acts (PX4: system_status CRITICAL)
        self.estimate_bias = np.zeros(3)    # m, ENU, added to the reported position (EKF / barometer drift)
        self.next = {"heartbeat": 0.0, "fast": 0.0, "slow": 0.0}

    # --- incoming ----------------------------------------------------------------------------
    def handle(self, data: bytes) -> list[bytes]:
        out = []
        for msg in self.mav.parse_buffer(data) or []:
            kind = msg.get_type()
            if kind == "BAD_DATA":
                continue
            self.ap.heard(self.k)
            target = getattr(msg, "target_system", self.mav.srcSystem)
            if target not in (0, self.mav.srcSystem):
                continue
            if kind == "COMMAND_LONG":
                out += self._command(msg)
            elif kind == "SET_MODE":
                self._set_mode(msg.custom_mode)
            elif kind == "SET_POSITION_TARGET_LOCAL_NED":
                self._setpoint(msg)
            elif kind == "PARAM_REQUEST_LIST":
                out += [self._param_value(name) for name in self.params]
            elif kind == "PARAM_REQUEST_READ":
                name = msg.param_id if msg.param_index < 0 else list(self.params)[msg.param_index % len(self.params)]
                if name in self.params:
                    out.append(self._param_value(name))
            elif kind == "PARAM_SET" and msg.param_id in self.params:
                self.params[msg.param_id] = self._decode(msg.param_id, msg.param_value)
                self._apply_params()
                out.append(self._param_value(msg.param_id))
        return out

    def _decode(self, name, value: float):
        return struct.unpack("<i", struct.pack("<f", value))[0] if name in INT_PARAMS else value

    def _param_value(self, name) -> bytes:
        value = self.params[name]
        if name in INT_PARAMS:
            raw, kind = struct.unpack("<f", struct.pack("<i", int(value)))[0], mav.MAV_PARAM_TYPE_INT32
        else:
            raw, kind = float(value), mav.MAV_PARAM_TYPE_REAL32
        return self.mav.param_value_encode(name.encode(), raw, kind, len(self.params),
                                           list(self.params).index(name)).pack(self.mav)

    def _apply_params(self) -> None:
        fs = self.ap.failsafe[self.k]
        fs.hover_after, fs.land_after = float(self.params["COM_OF_LOSS_T"]), float(self.params["COM_DL_LOSS_T"])
        fs.land_speed = float(self.params["MPC_LAND_SPEED"])

    def _ack(self, command: int, result: int) -> bytes:
        return self.mav.command_ack_encode(command, result).pack(self.mav)

    def _command(self, msg) -> list[bytes]:
        c, ap, k = msg.command, self.ap, self.k
        ok, denied = mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_DENIED
        if c == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            force = _int(msg.param2) == 21196
            if _int(msg.param1) == 0 and force:
                ap.emergency_stop(k)
                return [self._ack(c, ok)]
            return [self._ack(c, ok if ap.arm(k, _int(msg.param1) == 1) else denied)]
        if c == mav.MAV_CMD_DO_SET_MODE:
            custom = _int(msg.param2) << 16 | _int(msg.param3) << 24
            return [self._ack(c, ok if self._set_mode(custom) else denied)]
        if c == mav.MAV_CMD_NAV_TAKEOFF:
            if not ap.armed[k]:
                return [self._ack(c, denied)]
            p = ap.position[k]
            height = msg.param7 if math.isfinite(msg.param7) and msg.param7 > 0 else 2.5
            ap.move_to(k, (p[0], p[1], self.start[2] + height), height / 1.0)
            self.mode = "AUTO.TAKEOFF"
            return [self._ack(c, ok)]
        if c == mav.MAV_CMD_NAV_LAND:
            ap.land(k)
            self.mode = "AUTO.LAND"
            return [self._ack(c, ok)]
        if c == mav.MAV_CMD_REQUEST_MESSAGE:
            out = [self._ack(c, ok)]
            if _int(msg.param1) == mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
                out.append(self.mav.autopilot_version_encode(
                    mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2 | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_LOCAL_NED,
                    0x010F0000, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, self.mav.srcSystem).pack(self.mav))
            return out
        if c in (mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES):
            return [self._ack(c, ok)]
        return [self._ack(c, mav.MAV_RESULT_UNSUPPORTED)]

    def _set_mode(self, custom_mode: int) -> bool:
        name = px4_mode_name(custom_mode)
        ap, k = self.ap, self.k
        if name == "OFFBOARD":
            if ap.t - ap.last_setpoint[k] > SETPOINT_FRESH:
                return False          # PX4 refuses offboard without a setpoint stream
            self.mode = self.commanded = name
            return True
        if name == "AUTO.LAND":
            ap.land(k)
        elif name in ("AUTO.LOITER", "POSCTL") and ap.airborne(k):
            ap.set_mode(k, "hover")
        elif name not in PX4_MODES:
            return False
        self.mode = self.commanded = name
        return True

    def _setpoint(self, msg) -> None:
        ap, k = self.ap, self.k
        if msg.coordinate_frame != mav.MAV_FRAME_LOCAL_NED:
            return
        if self.mode != "OFFBOARD":
            ap.last_setpoint[k] = ap.t       # counted for the offboard switch, not flown
            return
        if not msg.type_mask & 0b111:
            ap.stream_position(k, ned_to_enu([msg.x, msg.y, msg.z]) + self.start)
        elif not msg.type_mask & 0b111000:
            ap.stream_velocity(k, ned_to_enu([msg.vx, msg.vy, msg.vz]))

    # --- outgoing ----------------------------------------------------------------------------
    def _sync_mode(self) -> None:
        """Failsafes and landings change the flight mode as PX4 reports it."""
        m = self.ap.mode[self.k]
        if m == "hover" and self.mode in ("OFFBOARD", "AUTO.TAKEOFF"):
            self.mode, self.failsafe = "AUTO.LOITER", True
        elif m == "land" and self.mode != "AUTO.LAND":
            self.mode, self.failsafe = "AUTO.LAND", True
        elif m == "idle" and self.mode in ("AUTO.LAND", "AUTO.LOITER", "AUTO.TAKEOFF"):
            self.mode, self.failsafe = self.commanded, False     # PX4 shows the last commanded mode after landing
        elif m in ("velocity", "position"):
            self.failsafe = False

    def _due(self, stream: str, t: float, period: float) -> bool:
        """Whether `stream` is due at `t`; keeps its rate exact on a coarse clock."""
        if t < self.next[stream]:
            return False
        self.next[stream] = max(self.next[stream] + period, t - period)
        return True

    def telemetry(self, t: float) -> list[bytes]:
        self._sync_mode()
        out, ap, k, enc = [], self.ap, self.k, self.mav
        ms = int(t * 1000)
        if self._due("heartbeat", t, 1.0):
            base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if ap.armed[k] else 0)
            status = mav.MAV_STATE_ACTIVE if ap.armed[k] else mav.MAV_STATE_STANDBY
            if ap.armed[k] and self.failsafe:
                status = mav.MAV_STATE_CRITICAL           # as PX4 reports an active failsafe
            out.append(enc.heartbeat_encode(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_PX4, base,
                                            px4_custom_mode(self.mode), status).pack(enc))
        if self._due("fast", t, 0.02):
            p, v = enu_to_ned(ap.position[k] + self.estimate_bias - self.start), enu_to_ned(ap.velocity[k])
            out.append(enc.local_position_ned_encode(ms, *p.tolist(), *v.tolist()).pack(enc))
            out.append(enc.attitude_encode(ms, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0).pack(enc))
        if self._due("slow", t, 0.5):
            pct = int(self.battery)
            volts = int(1000 * (13.2 + 3.6 * pct / 100))
            sensors = mav.MAV_SYS_STATUS_SENSOR_3D_GYRO | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
            out.append(enc.sys_status_encode(sensors, sensors, sensors, 100, volts, 1000, pct, 0, 0, 0, 0, 0, 0).pack(enc))
            out.append(enc.battery_status_encode(0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 2500,
                                                 [volts // 4] * 4 + [65535] * 6, 1000, -1, -1, pct).pack(enc))
            flying = ap.airborne(k) or ap.mode[k] == "land"        # on the ground once landing has ended
            landed = mav.MAV_LANDED_STATE_IN_AIR if flying else mav.MAV_LANDED_STATE_ON_GROUND
            out.append(enc.extended_sys_state_encode(mav.MAV_VTOL_STATE_UNDEFINED, landed).pack(enc))
        return out

    def drain(self, airborne_dt: float) -> None:
        """About 1 % of charge per 20 s of flight."""
        self.battery = max(0.0, self.battery - airborne_dt / 20.0)
