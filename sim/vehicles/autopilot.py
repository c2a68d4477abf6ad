"""Flight logic of simulated vehicles: modes, setpoints and the link-loss failsafe, vectorized.

Every vehicle is in one mode: `idle` (motors off on the ground), `velocity` / `position`
(streamed setpoints, like Crazyflie generic setpoints or PX4 offboard), `move` (a timed
straight move: high-level commander take-off and go-to), `hover` (hold the current position),
`land` (descend at the landing speed, then disarm) and `stopped` (emergency stop: motors off,
the vehicle falls). A streamed mode without a fresh setpoint for `hover_after` seconds turns
into `hover`; an airborne vehicle that heard nothing from its ground station for `land_after`
seconds lands. Times are simulation times, so tests can check the failsafe without a clock.
Vehicles with their own flight code (`attach`) keep these modes, events and failsafe here, and
fly them with that code on their own body instead of the point mass.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.pointmass import PointMassSwarm

MODES = ("idle", "velocity", "position", "move", "hover", "land", "stopped")
STREAMED = ("velocity", "position")
GRAVITY = 9.81
POSITION_GAIN = 2.0        # 1/s: velocity command per metre of position error
AIRBORNE = 0.05            # m: higher than this the vehicle is flying
LANDED_SPEED = 0.1         # m/s


@dataclass
class Failsafe:
    hover_after: float = 0.5   # s without a setpoint in a streamed mode -> hover
    land_after: float = 2.0    # s without any packet from the ground station -> land
    land_speed: float = 0.5    # m/s descent when landing


class Autopilot:
    """Modes and setpoints of N vehicles over one PointMassSwarm."""

    def __init__(self, vehicles, positions, failsafe: Failsafe | list[Failsafe]):
        self.physics = PointMassSwarm(vehicles, positions)
        n = self.n = self.physics.n
        self.failsafe = failsafe if isinstance(failsafe, list) else [failsafe] * n
        self.mode = ["idle"] * n
        self.armed = np.zeros(n, dtype=bool)
        self.target = np.array(positions, float).reshape(n, 3)     # position modes
        self.velocity_sp = np.zeros((n, 3))
        self.move_from = self.target.copy()
        self.move_t0 = np.zeros(n)
        self.move_duration = np.ones(n)
        self.last_setpoint = np.zeros(n)     # sim time of the last streamed setpoint
        self.last_heard = np.zeros(n)        # sim time of the last packet from the ground station
        self.t = 0.0
        self.events: list[tuple[float, int, str]] = []   # (sim time, vehicle, what happened)
        self.flights: dict = {}              # vehicle -> its own flight code and body (cf_firmware.py)

    def attach(self, k: int, flight) -> None:
        """Vehicle `k` flies its own flight code on its own body: modes still switch here (failsafe,
        events), its motion comes from `flight` (cf_firmware.FirmwareCrazyflie)."""
        self.flights[k] = flight

    # --- commands (called by the protocol servers) -------------------------------------------
    def heard(self, k: int) -> None:
        self.last_heard[k] = self.t

    def set_mode(self, k: int, mode: str) -> None:
        if mode != self.mode[k]:
            self.events.append((self.t, k, mode))
        self.mode[k] = mode
        if mode in ("hover", "land"):
            self.target[k] = self.physics.position[k]
        flight = self.flights.get(k)
        if flight is not None:                # the failsafe and stops, through the vehicle's own flight code
            if mode == "hover":
                flight.hold()
            elif mode == "land":
                flight.land_here(self.failsafe[k].land_speed)
            elif mode == "stopped":
                flight.stopped = True

    def arm(self, k: int, on: bool) -> bool:
        """Arming is refused in flight (disarming too, except in an emergency stop)."""
        if self.airborne(k) and self.mode[k] != "stopped":
            return False
        self.armed[k] = on
        self.events.append((self.t, k, "armed" if on else "disarmed"))
        if not on:
            self.set_mode(k, "idle")
        return True

    def stream_velocity(self, k: int, v) -> None:
        self._stream(k, "velocity", self.velocity_sp, v)

    def stream_position(self, k: int, p) -> None:
        self._stream(k, "position", self.target, p)

    def _stream(self, k: int, mode: str, into: np.ndarray, value) -> None:
        """A streamed setpoint: counted for the failsafe always, flown only by an armed vehicle."""
        self.last_setpoint[k] = self.t
        if self.mode[k] != "stopped" and self.armed[k]:
            into[k] = value
            self.set_mode(k, mode)

    def move_to(self, k: int, goal, duration: float) -> None:
        """A straight move to `goal` over `duration` s (take-off, go-to)."""
        if self.mode[k] == "stopped" or not self.armed[k]:
            return
        self.move_from[k] = self.physics.position[k]
        self.target[k] = goal
        self.move_t0[k], self.move_duration[k] = self.t, max(duration, 1e-3)
        self.set_mode(k, "move")

    def land(self, k: int) -> None:
        if self.mode[k] not in ("idle", "stopped"):
            self.set_mode(k, "land")

    def emergency_stop(self, k: int) -> None:
        self.set_mode(k, "stopped")
        self.armed[k] = False

    # --- state -------------------------------------------------------------------------------
    def airborne(self, k: int) -> bool:
        return bool(self.physics.position[k, 2] > AIRBORNE)

    @property
    def position(self) -> np.ndarray:
        return self.physics.position

    @property
    def velocity(self) -> np.ndarray:
        return self.physics.velocity

    # --- stepping ----------------------------------------------------------------------------
    def _failsafe(self) -> None:
        for k, mode in enumerate(self.mode):
            fs = self.failsafe[k]
            if mode in STREAMED and self.t - self.last_setpoint[k] > fs.hover_after:
                self.set_mode(k, "hover")
            if self.airborne(k) and mode not in ("land", "stopped") and self.t - self.last_heard[k] > fs.land_after:
                self.set_mode(k, "land")

    def _commands(self) -> np.ndarray:
        p = self.physics.position
        cmd = np.zeros((self.n, 3))
        for k, mode in enumerate(self.mode):
            if mode == "velocity":
                cmd[k] = self.velocity_sp[k]
            elif mode in ("position", "hover"):
                cmd[k] = POSITION_GAIN * (self.target[k] - p[k])
            elif mode == "move":
                s = min(1.0, (self.t - self.move_t0[k]) / self.move_duration[k])
                ref = self.move_from[k] + s * (self.target[k] - self.move_from[k])
                feed = (self.target[k] - self.move_from[k]) / self.move_duration[k] if s < 1 else 0.0
                cmd[k] = feed + POSITION_GAIN * (ref - p[k])
            elif mode == "land":
                cmd[k, :2] = POSITION_GAIN * (self.target[k, :2] - p[k, :2])
                cmd[k, 2] = -self.failsafe[k].land_speed
        return cmd

    def step(self, dt: float, substeps: int = 1) -> None:
        """Advance `substeps` physics steps of `dt` s."""
        if self.flights and substeps > 1:     # flight code runs tick by tick anyway: keep the failsafe as exact
            for _ in range(substeps):
                self.step(dt)
            return
        self._failsafe()
        stopped = np.array([m == "stopped" for m in self.mode])
        before = self.physics.velocity[stopped].copy()
        self.physics.step(self._commands(), dt, substeps)
        self.t += dt * substeps
        if stopped.any():                     # motors off: free fall, no controller
            v = before + [0.0, 0.0, -GRAVITY * dt * substeps]
            p = self.physics.position[stopped] - self.physics.velocity[stopped] * dt * substeps + v * dt * substeps
            ground = p[:, 2] <= 0.0
            p[ground, 2] = 0.0
            v[ground] = 0.0
            self.physics.position[stopped], self.physics.velocity[stopped] = p, v
        for k, flight in self.flights.items():
            flight.step(dt * substeps, bool(self.armed[k]))
            self.physics.position[k], self.physics.velocity[k] = flight.body.p, flight.body.v
        for k, mode in enumerate(self.mode):
            if mode == "land" and self.physics.position[k, 2] < AIRBORNE / 2 \
                    and np.linalg.norm(self.physics.velocity[k]) < LANDED_SPEED:
                self.events.append((self.t, k, "landed"))
                self.arm(k, False)
            elif mode == "idle":                  # motors off on the ground: stay put
                self.physics.velocity[k] = 0.0

    def landed(self) -> np.ndarray:
        return (self.physics.position[:, 2] < AIRBORNE) & ~self.armed
