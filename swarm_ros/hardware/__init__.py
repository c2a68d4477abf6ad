"""Hardware backends: the same drone nodes fly real vehicles; only the backend differs.

A hardware backend flies vehicles of one autopilot and is registered under that autopilot's
name (entry point group `swarm_ros.hardware`, Crazyswarm2-style one class per backend): the
built-ins are `crazyflie` (cflib) and `px4` (MAVLink via pymavlink). A drone is flown by the
backend of its platform's `autopilot` (config/platforms/*.yaml); `mixed` picks that per drone.
An autopilot no backend flies still simulates; deploying it is an error that names it.
"""
from __future__ import annotations

from functools import lru_cache

from ..configfile import ConfigError
from ..registry import import_path, registered

GROUP = "swarm_ros.hardware"
BUILTINS = {"crazyflie": "swarm_ros.hardware.crazyflie:CrazyflieBackend",
            "px4": "swarm_ros.hardware.px4:Px4Backend"}
MIXED = "mixed"


def backend_names() -> list[str]:
    """The autopilots a backend flies (built-in, then installed plugins)."""
    return list(registered(GROUP, BUILTINS))


def backend_choices() -> list[str]:
    """What `swarm-ros deploy --backend` accepts."""
    return [*backend_names(), MIXED]


@lru_cache(maxsize=None)
def backend_class(autopilot: str):
    """The Backend subclass that flies `autopilot`, or None (its driver library is imported only on connect)."""
    from .base import Backend
    target = registered(GROUP, BUILTINS).get(autopilot)
    if target is None:
        return None
    cls = import_path(target)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"entry point {autopilot} = {target} of group {GROUP} is not a hardware Backend subclass")
    return cls


def uses_system_ids(autopilot: str) -> bool:
    """Whether vehicles of `autopilot` carry a MAVLink system id (fleet field `sysid`)."""
    cls = backend_class(autopilot)
    return bool(cls and cls.system_ids)


def system_id_autopilots() -> list[str]:
    return [a for a in backend_names() if uses_system_ids(a)]


def require_backends(fleet) -> None:
    """A ConfigError naming the platform file of the first drone whose autopilot no backend flies."""
    for d in fleet.drones:
        if backend_class(d.autopilot) is None:
            raise ConfigError(d.platform_spec.file, "autopilot", f"{d.autopilot!r} (drone {d.name!r} of fleet "
                              f"{fleet.file}): no hardware backend flies it; simulation only",
                              "an autopilot with a hardware backend: " + ", ".join(backend_names())
                              + f" (or install one: entry point group {GROUP})")


def make_backend(kind: str, drone, uri: str):
    """A backend of `kind` (an autopilot name) for one drone."""
    cls = backend_class(kind)
    if cls is None:
        raise ValueError(f"unknown backend {kind!r}; allowed: {', '.join(backend_names())}")
    return cls(drone, uri)


__all__ = ["GROUP", "BUILTINS", "MIXED", "backend_names", "backend_choices", "backend_class",
           "uses_system_ids", "system_id_autopilots", "require_backends", "make_backend"]
