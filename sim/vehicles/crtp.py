"""A simulated Crazyflie as cflib sees it: CRTP packets, one per UDP datagram (cflib's udp:// driver).

It answers what cflib needs to connect (link-control source, platform protocol version, log
and parameter TOCs in version 2, memory count 0, parameter reads) and then flies: log blocks
stream the state estimate, generic setpoints (port 7: position, world velocity, full state, stop)
and the high-level commander (port 8: take-off, land, go-to, stop) command the autopilot (with
the Crazyflie firmware's own flight code where it is installed: cf_firmware.py), the
supervisor (port 9) takes arming and emergency stop, and echo packets are returned for cflib's
latency measurement. Byte layouts follow cflib 0.1.x and the Crazyflie firmware.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from .autopilot import POSITION_GAIN
from .cf_firmware import CONTROLLERS

PROTOCOL_VERSION = 12          # >= 4: TOC v2; >= 12: supervisor port for arming and emergency stop
MAGIC = b"Bitcraze Crazyflie"
PORT_PARAM, PORT_MEM, PORT_LOG, PORT_LOC, PORT_GENERIC, PORT_HL, PORT_SUP, PORT_PLATFORM, PORT_LINK = \
    2, 4, 5, 6, 7, 8, 9, 13, 15
LOG_TYPES = {"uint8_t": (1, "<B"), "uint16_t": (2, "<H"), "float": (7, "<f")}
PARAM_TYPES = {"uint8_t": (0x08, "<B"), "float": (0x06, "<f")}
FETCH_FORMATS = {1: "<B", 2: "<H", 3: "<L", 4: "<b", 5: "<h", 6: "<i", 7: "<f", 8: "<e"}

# Log variables the simulated firmware offers: (group, name, type)
LOG_VARIABLES = [("stateEstimate", n, "float") for n in ("x", "y", "z", "vx", "vy", "vz", "roll", "pitch", "yaw")] + [
    ("pm", "vbat", "float"), ("pm", "batteryLevel", "uint8_t"), ("supervisor", "info", "uint16_t")]
# Parameters: (group, name, type, default). failsafe.* are this simulator's link-loss timeouts.
PARAMS = [("commander", "enHighLevel", "uint8_t", 1), ("stabilizer", "estimator", "uint8_t", 2),
          ("stabilizer", "controller", "uint8_t", 1), ("pm", "lowVoltage", "float", 3.2),
          ("failsafe", "hoverAfter", "float", 0.5), ("failsafe", "landAfter", "float", 2.0)]


def header(port: int, channel: int) -> int:
    return (port & 0x0F) << 4 | 3 << 2 | (channel & 0x03)


def _toc_crc(entries) -> int:
    return zlib.crc32(repr(entries).encode()) & 0xFFFFFFFF


class CrazyflieLink:
    """The CRTP side of vehicle `k` of an Autopilot."""

    def __init__(self, autopilot, k: int, battery: float = 92.0, flight=None):
        """`flight`: the firmware's flight code for this vehicle (cf_firmware.FirmwareCrazyflie); without
        it the autopilot's point mass stands in."""
        self.ap, self.k, self.flight = autopilot, k, flight
        self.vbat = 3.0 + 1.2 * battery / 100          # percent -> volts of a 1S LiPo
        fs = autopilot.failsafe[k]
        self.params = {f"{g}.{n}": [t, v] for g, n, t, v in PARAMS}
        if flight is not None:
            autopilot.attach(k, flight)
            self.params["stabilizer.controller"][1] = CONTROLLERS[flight.controller]
        self.params["failsafe.hoverAfter"][1], self.params["failsafe.landAfter"][1] = fs.hover_after, fs.land_after
        self.param_names = list(self.params)
        self.blocks: dict[int, dict] = {}          # id -> {"vars": [(index, fetch type)], "period": s, "next": t}
        self.lowlevel = False                      # low-level setpoints outrank the high-level commander
        self.emergency = False
        self.estimate_bias = np.zeros(3)           # m, ENU, added to the reported position (estimator drift)

    # --- incoming ----------------------------------------------------------------------------
    def handle(self, data: bytes) -> list[bytes]:
        """Replies to one incoming CRTP packet."""
        if not data or data[0] == 0xFF:              # null packet (scan probe / keep-alive)
            return [bytes([0xFF])]
        port, channel, payload = data[0] >> 4, data[0] & 0x03, data[1:]
        self.ap.heard(self.k)
        handler = {PORT_LINK: self._link, PORT_PLATFORM: self._platform, PORT_LOG: self._log,
                   PORT_PARAM: self._param, PORT_MEM: self._mem, PORT_GENERIC: self._generic,
                   PORT_HL: self._high_level, PORT_SUP: self._supervisor, PORT_LOC: self._localization}.get(port)
        if handler is None:
            return []
        return [bytes([header(p, c)]) + bytes(body) for p, c, body in handler(channel, payload)]

    def _link(self, channel, payload):
        if channel == 0:                        # echo (cflib's latency pings)
            return [(PORT_LINK, 0, payload)]
        if channel == 1:                        # source: who is there
            return [(PORT_LINK, 1, MAGIC)]
        return []

    def _platform(self, channel, payload):
        if channel == 1 and payload[:1] == b"\x00":
            return [(PORT_PLATFORM, 1, bytes([0, PROTOCOL_VERSION]))]
        if channel == 1 and payload[:1] == b"\x01":
            return [(PORT_PLATFORM, 1, b"\x01swarm-sim")]
        return []

    @staticmethod
    def _toc(port, payload, entries, encode):
        cmd = payload[0]
        if cmd == 3:                                   # TOC info v2: count, crc
            return [(port, 0, struct.pack("<BHI", 3, len(entries), _toc_crc(entries)))]
        if cmd == 2:                                   # TOC item v2
            index = struct.unpack("<H", payload[1:3])[0]
            if index < len(entries):
                return [(port, 0, struct.pack("<BH", 2, index) + encode(entries[index]))]
        return []

    def _log(self, channel, payload):
        if channel == 0:
            return self._toc(PORT_LOG, payload, LOG_VARIABLES,
                             lambda e: bytes([LOG_TYPES[e[2]][0]]) + e[0].encode() + b"\0" + e[1].encode() + b"\0")
        if channel != 1 or not payload:
            return []
        cmd, block = payload[0], payload[1] if len(payload) > 1 else 0
        if cmd == 5:                                  # reset
            self.blocks.clear()
            return [(PORT_LOG, 1, bytes([5, 0, 0]))]
        if cmd in (6, 7):                             # create / append block v2: [type, id lo, id hi]*
            items = [(struct.unpack("<H", payload[i + 1:i + 3])[0], payload[i] & 0x0F)
                     for i in range(2, len(payload) - 2, 3)]
            if cmd == 6 and block in self.blocks:
                return [(PORT_LOG, 1, bytes([cmd, block, 17]))]          # EEXIST
            if any(index >= len(LOG_VARIABLES) for index, _ in items):
                return [(PORT_LOG, 1, bytes([cmd, block, 2]))]           # ENOENT
            entry = self.blocks.setdefault(block, {"vars": [], "period": 0.1, "next": 0.0, "on": False})
            entry["vars"] += items
            return [(PORT_LOG, 1, bytes([cmd, block, 0]))]
        if cmd == 3 and block in self.blocks:         # start, period in 10 ms
            self.blocks[block].update(period=max(payload[2], 1) * 0.01, on=True, next=0.0)
            return [(PORT_LOG, 1, bytes([3, block, 0]))]
        if cmd in (3, 4, 2):                          # start unknown / stop / delete
            if cmd == 4 and block in self.blocks:
                self.blocks[block]["on"] = False
            if cmd == 2:
                self.blocks.pop(block, None)
            return [(PORT_LOG, 1, bytes([cmd, block, 0 if cmd != 3 else 2]))]
        return []

    def _param(self, channel, payload):
        if channel == 0:
            return self._toc(PORT_PARAM, payload, self.param_names,
                             lambda name: bytes([PARAM_TYPES[self.params[name][0]][0]])
                             + name.replace(".", "\0", 1).encode() + b"\0")
        if channel in (1, 2) and len(payload) >= 2:
            index = struct.unpack("<H", payload[:2])[0]
            if index >= len(self.param_names):
                return []
            name = self.param_names[index]
            fmt = PARAM_TYPES[self.params[name][0]][1]
            if channel == 2:                          # write, answered with the value
                self.params[name][1] = struct.unpack(fmt, payload[2:2 + struct.calcsize(fmt)])[0]
                self._apply_param(name)
                return [(PORT_PARAM, 2, payload[:2] + struct.pack(fmt, self.params[name][1]))]
            return [(PORT_PARAM, 1, payload[:2] + b"\0" + struct.pack(fmt, self.params[name][1]))]
        return []

    def _apply_param(self, name: str) -> None:
        fs = self.ap.failsafe[self.k]
        if name == "failsafe.hoverAfter":
            fs.hover_after = float(self.params[name][1])
        elif name == "failsafe.landAfter":
            fs.land_after = float(self.params[name][1])
        elif name == "stabilizer.controller" and self.flight is not None:
            self.flight.set_controller_param(self.params[name][1], len(self.ap.flights))
            self.params[name][1] = CONTROLLERS[self.flight.controller]

    def _mem(self, channel, payload):
        if channel == 0 and payload[:1] == b"\x01":
            return [(PORT_MEM, 0, bytes([1, 0]))]         # no memories
        return []

    def _generic(self, channel, payload):
        if channel == 1:                                  # meta: notify setpoint stop
            self.lowlevel = False
            if self.flight is not None:
                self.flight.relax_priority()
            return []
        kind = payload[0] if payload else -1
        if kind == 0:                                     # stop: motors off
            if self.flight is not None:
                self.flight.generic(payload)
            if self.ap.airborne(self.k):
                self.ap.emergency_stop(self.k)
            else:
                self.ap.set_mode(self.k, "idle")
            return []
        if self.emergency or kind not in (1, 6, 7, 8) or len(payload) < (29 if kind == 6 else 17):
            return []
        self.lowlevel = True
        self._auto_arm()
        if self.flight is not None:
            self.flight.generic(payload)
        if kind == 7:
            self.ap.stream_position(self.k, struct.unpack("<fff", payload[1:13]))
        elif kind == 6:                                   # full state: mm, mm/s; the point mass flies toward it
            v = np.array(struct.unpack("<hhhhhh", payload[1:13]), float) / 1000.0
            self.ap.stream_velocity(self.k, v[3:] + POSITION_GAIN * (v[:3] - self.ap.position[self.k]))
        else:
            self.ap.stream_velocity(self.k, struct.unpack("<fff", payload[1:13]))
        return []

    def _high_level(self, channel, payload):
        if not payload or self.emergency:
            return []
        outranked = self.lowlevel and self.ap.mode[self.k] in ("velocity", "position")   # streamed setpoints win
        if self.flight is not None:
            return self._firmware_high_level(payload, outranked)
        if outranked:
            return []
        cmd, p = payload[0], self.ap.position[self.k]
        if cmd in (7, 8):                                 # take-off 2 / land 2: <BBff?f
            _, _, height, _yaw, _cur, duration = struct.unpack("<BBff?f", payload[:15])
            if cmd == 7:
                self._auto_arm()
                self.ap.move_to(self.k, (p[0], p[1], height), duration)
            else:
                self.ap.land(self.k)
        elif cmd == 3:                                    # stop
            self.ap.emergency_stop(self.k)
        elif cmd == 12 and len(payload) >= 24:            # go to 2: <BBBBfffff
            _, _, relative, _lin, x, y, z, _yaw, duration = struct.unpack("<BBBBfffff", payload[:24])
            goal = np.array([x, y, z]) + (p if relative else 0.0)
            self.ap.move_to(self.k, goal, duration)
        return []

    def _firmware_high_level(self, payload, outranked: bool):
        """The firmware's planner plans every command; the modes here follow what it then flies."""
        fl, ap, k, cmd = self.flight, self.ap, self.k, payload[0]
        if cmd in (7, 8):                                 # take-off 2 / land 2: <BBff?f, yaw in rad
            _, _, height, yaw, current, duration = struct.unpack("<BBff?f", payload[:15])
            if cmd == 7:
                self._auto_arm()
                if fl.takeoff(height, yaw, current, duration) and not outranked:
                    ap.move_to(k, (*fl.body.p[:2], height), duration)
            elif fl.land(height, yaw, current, duration) and not outranked:
                ap.land(k)
        elif cmd == 3:                                    # stop: the planner's null setpoint, motors off
            fl.hl_stop()
            if not outranked:
                ap.emergency_stop(k)
        elif cmd == 12 and len(payload) >= 24:            # go to 2: <BBBBfffff
            _, _, relative, linear, x, y, z, yaw, duration = struct.unpack("<BBBBfffff", payload[:24])
            if fl.go_to((x, y, z), yaw, duration, bool(relative), bool(linear)) and not outranked:
                goal = np.array([x, y, z]) + (ap.position[k] if relative else 0.0)
                ap.move_to(k, goal, duration)
        return []

    def _auto_arm(self) -> None:
        """A Crazyflie 2.1 (brushed) arms itself on its first flight command."""
        if not self.ap.armed[self.k]:
            self.ap.arm(self.k, True)

    def _supervisor(self, channel, payload):
        if channel != 1 or not payload:
            return []
        cmd = payload[0]
        if cmd == 0x03:                                 # emergency stop
            self.emergency = True
            self.ap.emergency_stop(self.k)
        elif cmd == 0x01:
            ok = self.ap.arm(self.k, bool(payload[1]))
            return [(PORT_SUP, 1, bytes([0x81, int(ok), int(self.ap.armed[self.k])]))]
        elif cmd == 0x0C:
            return [(PORT_SUP, 1, bytes([0x8C]) + struct.pack("<H", self.supervisor_info()))]
        return []

    def _localization(self, channel, payload):
        if channel == 1 and payload[:1] == b"\x03":        # legacy emergency stop
            self.emergency = True
            self.ap.emergency_stop(self.k)
        return []

    # --- outgoing ----------------------------------------------------------------------------
    def supervisor_info(self) -> int:
        ap, k = self.ap, self.k
        bits = 1 | int(ap.armed[k]) << 1 | 1 << 2 | 1 << 3 | int(ap.airborne(k)) << 4
        bits |= int(self.emergency) << 6 | int(ap.mode[k] == "move") << 8
        return bits

    def values(self) -> list[float]:
        ap, k = self.ap, self.k
        p, v = ap.position[k] + self.estimate_bias, ap.velocity[k]
        level = int(np.clip((self.vbat - 3.0) / 1.2 * 100, 0, 100))
        roll, pitch, yaw = self.flight.attitude_deg() if self.flight is not None else (0.0, 0.0, 0.0)
        # the firmware logs its state's attitude: degrees, pitch in its legacy sign (nose up positive)
        return [*p, *v, roll, -pitch, yaw, self.vbat, level, self.supervisor_info()]

    def telemetry(self, t: float) -> list[bytes]:
        """Log packets due at simulation time `t` (time stamp in ms, 24 bits)."""
        out, values = [], None
        for block, entry in self.blocks.items():
            if not entry["on"] or t < entry["next"]:
                continue
            entry["next"] = max(entry["next"] + entry["period"], t)
            values = values or self.values()
            body = bytes([block]) + struct.pack("<I", int(t * 1000) & 0xFFFFFF)[:3]
            for index, fetch in entry["vars"]:
                value = values[index]
                fmt = FETCH_FORMATS[fetch]
                body += struct.pack(fmt, int(value) if fmt[1] in "BHLbhi" else value)
            out.append(bytes([header(PORT_LOG, 2)]) + body)
        return out

    def drain(self, airborne_dt: float) -> None:
        """The battery sags while flying (about 0.25 V in a 7 minute flight)."""
        self.vbat -= 6e-4 * airborne_dt
