"""The interface every vehicle backend offers, so drone nodes and controllers never change.

A backend owns one vehicle's link. It streams the vehicle's state estimate into a
`VehicleState` (ENU world frame, the frame of /<drone>/odom) and takes setpoints in the same
frame; take-off, landing, arming and emergency stop go through the vehicle's own autopilot
functions. A backend is registered under the name of the autopilot it flies (swarm_ros.hardware).
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

import numpy as np

LINK_WINDOW = 1.0      # s over which link quality counts telemetry samples


class LinkError(RuntimeError):
    """A vehicle that cannot be reached or refused a command; the message is one line."""


@dataclass
class VehicleState:
    position: np.ndarray = field(default_factory=lambda: np.full(3, np.nan))   # m, ENU world
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))          # m/s, ENU world
    stamp: float = 0.0          # time.monotonic() of the newest state sample
    battery: float = float("nan")   # percent
    armed: bool = False
    mode: str = "unknown"
    airborne: bool = False
    link_quality: float = 0.0   # 0..1: share of the expected telemetry that arrived in the last second
    connected: bool = False

    def copy(self) -> "VehicleState":
        return VehicleState(self.position.copy(), self.velocity.copy(), self.stamp, self.battery, self.armed,
                            self.mode, self.airborne, self.link_quality, self.connected)


class Backend(ABC):
    """One vehicle. Methods are thread-safe; state arrives on the driver's threads."""
    kind = "abstract"           # the autopilot it flies = its registered name
    link_schemes = ("udp",)     # URI schemes its links take (links.py): radio, udp, udpin
    system_ids = False          # vehicles report a MAVLink system id (fleet field `sysid`)
    telemetry_rate = 50.0       # Hz of state samples the link quality is measured against
    link_timeout = 1.0          # s without telemetry: the link counts as lost

    def __init__(self, drone, uri: str):
        self.drone, self.uri = drone, uri
        self.name = drone.name
        self.start = np.asarray(drone.start, float)
        self._state = VehicleState()
        self._samples: deque[float] = deque()
        self._lock = threading.Lock()
        self.landing = False

    def _sample(self, **values) -> None:
        """Drivers report telemetry here (any subset of VehicleState's fields)."""
        now = time.monotonic()
        with self._lock:
            for key, value in values.items():
                setattr(self._state, key, value)
            if "position" in values:
                self._state.stamp = now
                self._samples.append(now)

    def state(self) -> VehicleState:
        now = time.monotonic()
        with self._lock:
            while self._samples and now - self._samples[0] > LINK_WINDOW:
                self._samples.popleft()
            s = self._state.copy()
            s.link_quality = min(1.0, len(self._samples) / (self.telemetry_rate * LINK_WINDOW))
        s.connected = s.connected and now - s.stamp < self.link_timeout
        return s

    # --- what each backend implements ---------------------------------------------------------
    @abstractmethod
    def connect(self, timeout: float) -> None:
        """Open the link and start telemetry; LinkError if the vehicle does not answer."""

    @abstractmethod
    def parameters(self, names) -> dict:
        """Current values of the named vehicle parameters (missing ones are left out)."""

    @abstractmethod
    def set_parameter(self, name: str, value) -> None: ...

    @abstractmethod
    def failsafe_timeouts(self) -> tuple[float, float]:
        """(hover after, land after): seconds of link loss after which the vehicle holds, then lands."""

    @abstractmethod
    def arm(self) -> None:
        """Ready for setpoints: armed, and in the mode that follows them (PX4: offboard)."""

    @abstractmethod
    def velocity(self, v) -> None:
        """Velocity setpoint, m/s, ENU world frame."""

    @abstractmethod
    def position(self, p) -> None:
        """Position setpoint, m, ENU world frame."""

    @abstractmethod
    def takeoff(self, height: float, duration: float) -> None:
        """Climb to `height` m above the start pad through the vehicle's own take-off."""

    @abstractmethod
    def land(self, duration: float) -> None:
        """Land where the vehicle is through its own landing; later setpoints are ignored."""

    @abstractmethod
    def emergency_stop(self) -> None:
        """Motors off now."""

    @abstractmethod
    def close(self) -> None: ...

    def failsafe_problems(self) -> list[str]:
        """Failsafe settings that would not hold or land the vehicle where it is (one line each)."""
        return []

    def identity(self) -> int | None:
        """The id the vehicle reports for itself where its protocol carries one (MAVLink system id)."""
        return None

    def disarm(self) -> None:
        """Disarm after landing (vehicles that disarm themselves need nothing)."""
