"""Preflight: every vehicle reachable, charged, configured and on its pad inside the geofence.

Nothing here arms or moves a vehicle. Each problem is one line naming the drone, its link and
what is wrong, so a wrong URI or a vehicle that is off is found before anything flies.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from .base import LinkError


@dataclass
class Limits:
    min_battery: float = 30.0      # percent
    pad_tolerance: float = 0.5     # m between the measured position and the fleet's start
    connect_timeout: float = 5.0   # s
    require_land_failsafe: bool = True   # False: a vehicle that does not land on link loss is only a warning


@dataclass
class VehicleCheck:
    name: str
    kind: str
    uri: str
    problems: list[str] = field(default_factory=list)
    battery: float = math.nan
    position: np.ndarray | None = None
    failsafe: tuple[float, float] = (math.nan, math.nan)
    connected: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.connected and not self.problems


def connect_all(backends: dict, timeout: float) -> dict[str, str | None]:
    """Connect every backend at once; {drone: one-line error or None}."""
    errors: dict[str, str | None] = {}

    def connect(name, backend):
        try:
            backend.connect(timeout)
            errors[name] = None
        except LinkError as err:
            errors[name] = str(err)
        except Exception as err:   # a driver failing in its own way still gets one line, not a traceback
            errors[name] = f"{name} ({backend.uri}): {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"

    threads = [threading.Thread(target=connect, args=item, daemon=True) for item in backends.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5.0)
    return {name: errors.get(name, f"{name} ({b.uri}): connecting hung") for name, b in backends.items()}


def check_vehicle(mission, backend, limits: Limits) -> VehicleCheck:
    """Battery, failsafe parameters, position on the pad and inside the geofence, the vehicle's own id
    (PX4: a pad-relative position cannot reveal a swapped link, its system id can), not armed."""
    d = mission.fleet.by_name(backend.name)
    check = VehicleCheck(d.name, backend.kind, backend.uri, connected=True)
    s = backend.state()
    check.battery, check.position = s.battery, s.position
    where = f"{d.name} ({backend.uri})"
    if not s.battery >= limits.min_battery:
        check.problems.append(f"{where}: battery {s.battery:.0f} % is below the {limits.min_battery:g} % minimum")
    if not np.isfinite(s.position).all():
        check.problems.append(f"{where}: no position estimate (positioning system or EKF not running)")
    else:
        if not mission.world.inside_fence(s.position[None])[0]:
            check.problems.append(f"{where}: position {np.round(s.position, 2).tolist()} is outside the geofence of "
                                  f"world {mission.world.name!r}")
        off = float(np.linalg.norm(s.position - np.asarray(d.start)))
        if off > limits.pad_tolerance:
            check.problems.append(f"{where}: {off:.2f} m from its start pad {list(d.start)} in the fleet file "
                                  f"(allowed {limits.pad_tolerance:g} m): wrong vehicle on this link, or frames differ")
    heard = backend.identity()
    if d.sysid is not None and heard is not None and heard != d.sysid:
        owner = next((f" ({o.name}'s)" for o in mission.fleet.drones if o.sysid == heard), "")
        check.problems.append(f"{where}: heartbeat from MAVLink system {heard}{owner}, expected {d.name}'s {d.sysid}: "
                              "wrong vehicle on this link (links swapped, or MAV_SYS_ID differs from the fleet's sysid)")
    if s.armed or s.airborne:
        check.problems.append(f"{where}: already {'flying' if s.airborne else 'armed'}")
    check.problems += [f"{where}: {line}" for line in backend.failsafe_problems()]
    hover, land = backend.failsafe_timeouts()
    check.failsafe = (hover, land)
    if not (math.isfinite(hover) and math.isfinite(land)):
        line = (f"{where}: does not land on link loss (hold {hover:g} s, land {land:g} s); "
                "see the hardware checklist in docs/concepts/hardware.md")
        (check.problems if limits.require_land_failsafe else check.warnings).append(line)
    return check
