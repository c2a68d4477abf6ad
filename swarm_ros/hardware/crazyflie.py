"""Crazyflie backend over cflib: Crazyradio (radio://) or cflib's UDP driver (udp://).

Connects with the link's full setup (TOCs, parameters), streams the state estimate through a
log block (stateEstimate.x/y/z/vx/vy/vz every 20 ms) and battery/supervisor state through a
second one (flying or not is the supervisor's "is flying" bit, not a height), sends velocity
commands in the form the vehicle's firmware controller flies (velocity-world for PID, full state
for the others) and position setpoints on the generic commander, and takes off and lands through
the high-level commander. Before a high-level command follows
low-level setpoints it tells the firmware so (notify-setpoint-stop), as the firmware requires.
The Crazyflie's world frame is its positioning system's (Lighthouse, mocap), assumed ENU and
aligned with the mission's world.
"""
from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .base import Backend, LinkError

STATE_VARS = ("stateEstimate.x", "stateEstimate.y", "stateEstimate.z",
              "stateEstimate.vx", "stateEstimate.vy", "stateEstimate.vz")
STATUS_VARS = (("pm.vbat", "float"), ("pm.batteryLevel", "uint8_t"), ("supervisor.info", "uint16_t"))
STATE_PERIOD_MS, STATUS_PERIOD_MS = 20, 100
FAILSAFE_PARAMS = ("failsafe.hoverAfter", "failsafe.landAfter")
STOCK_WATCHDOG = (0.5, float("inf"))
PID_CONTROLLERS = (0.0, 1.0)   # stabilizer.controller: auto select (PID) and PID; the rest want full state
CACHE = Path(tempfile.gettempdir()) / "swarm_ros_cflib_cache"
_drivers_ready = False
# cflib logs connection failures with tracebacks; the backend reports them itself, in one line
logging.getLogger("cflib").addHandler(logging.NullHandler())


def _one_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "no reason given")


def _reason(text: str) -> str:
    """cflib's connection failure (often a traceback) as one line a user can act on."""
    if "Connection refused" in text:
        return "no vehicle answers there (connection refused)"
    if "Cannot find a Crazyradio" in text:
        return "no Crazyradio dongle found (plugged in? udev rule for non-root access set?)"
    return _one_line(text)


class CrazyflieBackend(Backend):
    kind = "crazyflie"
    link_schemes = ("radio", "udp")
    telemetry_rate = 1000.0 / STATE_PERIOD_MS

    def __init__(self, drone, uri: str):
        super().__init__(drone, uri)
        self.cf = None
        self._logs = []
        self._full_state = False      # how velocity commands go: see velocity()

    def connect(self, timeout: float) -> None:
        global _drivers_ready
        import cflib.crtp
        from cflib.crazyflie import Crazyflie
        if not _drivers_ready:
            cflib.crtp.init_drivers()
            _drivers_ready = True
        CACHE.mkdir(parents=True, exist_ok=True)
        self.cf = cf = Crazyflie(rw_cache=str(CACHE))
        done, failure = threading.Event(), []
        cf.fully_connected.add_callback(lambda _uri: done.set())
        cf.connection_failed.add_callback(lambda _uri, msg: (failure.append(msg), done.set()))
        cf.connection_lost.add_callback(lambda _uri, _msg: self._sample(connected=False))
        cf.open_link(self.uri)
        if not done.wait(timeout) or failure:
            reason = _reason(failure[0]) if failure else f"no answer within {timeout:g} s"
            self._close_link()
            raise LinkError(f"{self.name} ({self.uri}): {reason}")
        self._start_logs()
        deadline = time.monotonic() + timeout
        while (self._state.stamp == 0 or self._state.mode == "unknown") and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._state.stamp == 0 or self._state.mode == "unknown":
            self.close()
            raise LinkError(f"{self.name} ({self.uri}): connected, but no state estimate within {timeout:g} s")
        self._sample(connected=True)

    def _start_logs(self) -> None:
        from cflib.crazyflie.log import LogConfig
        state = LogConfig(name="state", period_in_ms=STATE_PERIOD_MS)
        for var in STATE_VARS:
            state.add_variable(var, "float")
        status = LogConfig(name="status", period_in_ms=STATUS_PERIOD_MS)
        for var, kind in STATUS_VARS:
            status.add_variable(var, kind)
        for conf, cb in ((state, self._on_state), (status, self._on_status)):
            self.cf.log.add_config(conf)
            conf.data_received_cb.add_callback(cb)
            conf.start()
            self._logs.append(conf)

    def _on_state(self, _ts, data, _conf) -> None:
        v = [data[k] for k in STATE_VARS]
        self._sample(position=np.array(v[:3]), velocity=np.array(v[3:]), connected=True)

    def _on_status(self, _ts, data, _conf) -> None:
        info = int(data["supervisor.info"])
        armed, flying, locked = bool(info & 2), bool(info & 16), bool(info & 64)
        mode = "locked" if locked else "landing" if self.landing and flying else "flying" if flying else "ready"
        self._sample(battery=float(data["pm.batteryLevel"]), armed=armed, mode=mode, airborne=flying)

    def parameters(self, names) -> dict:
        out = {}
        for name in names:
            try:
                out[name] = float(self.cf.param.get_value(name, timeout=2))
            except (KeyError, ValueError, Exception):    # cflib raises bare Exception on timeouts
                continue
        return out

    def set_parameter(self, name: str, value) -> None:
        try:
            self.cf.param.set_value(name, value)
        except (KeyError, AttributeError) as err:
            raise LinkError(f"{self.name}: cannot set parameter {name}: {_one_line(err)}") from None

    def failsafe_timeouts(self) -> tuple[float, float]:
        """The failsafe.* parameters where the firmware has them (the simulated Crazyflie does); stock
        firmware's commander watchdog levels the vehicle after 0.5 s and stops the motors after 2 s,
        which holds briefly but never lands: reported as (0.5, inf)."""
        p = self.parameters(FAILSAFE_PARAMS)
        if len(p) < len(FAILSAFE_PARAMS):
            return STOCK_WATCHDOG
        return p[FAILSAFE_PARAMS[0]], p[FAILSAFE_PARAMS[1]]

    def arm(self) -> None:
        self.set_parameter("commander.enHighLevel", 1)
        controller = self.parameters(["stabilizer.controller"]).get("stabilizer.controller", 0.0)
        self._full_state = controller not in PID_CONTROLLERS
        self.cf.supervisor.send_arming_request(True)
        self.landing = False

    def velocity(self, v) -> None:
        """The firmware's PID controller flies velocity-world setpoints; its Mellinger (and Lee,
        Brescianini) read those as "hold height 0" and come down, so for them a full-state setpoint
        carries the velocity at the latest estimate's position (the position term then only damps;
        a reference that runs ahead with the velocity fights the drone nodes' position loops:
        oscillation, measured). PID in turn ignores a full-state setpoint's velocity."""
        if self.landing:
            return
        vx, vy, vz = (float(x) for x in v)
        if not self._full_state:
            self.cf.commander.send_velocity_world_setpoint(vx, vy, vz, 0.0)
            return
        here = self.state().position
        if np.isfinite(here).all():
            self.cf.commander.send_full_state_setpoint(here, (vx, vy, vz), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0),
                                                       0.0, 0.0, 0.0)

    def position(self, p) -> None:
        if not self.landing:
            self.cf.commander.send_position_setpoint(float(p[0]), float(p[1]), float(p[2]), 0.0)

    def takeoff(self, height: float, duration: float) -> None:
        self.cf.commander.send_notify_setpoint_stop()
        self.cf.high_level_commander.takeoff(float(self.start[2] + height), float(duration))

    def land(self, duration: float) -> None:
        self.landing = True
        self.cf.commander.send_notify_setpoint_stop()
        self.cf.high_level_commander.land(float(self.start[2]), float(duration))

    def emergency_stop(self) -> None:
        self.landing = True
        self.cf.supervisor.send_emergency_stop()

    def _close_link(self) -> None:
        if self.cf is not None:
            try:
                self.cf.close_link()
            except Exception:   # closing a half-open link: nothing left to save
                pass

    def close(self) -> None:
        for conf in self._logs:
            try:
                conf.stop()
            except Exception:
                pass
        self._close_link()
        self._sample(connected=False)
