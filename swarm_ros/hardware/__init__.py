"""Hardware backends: the same drone nodes fly real vehicles; only the backend differs.

A hardware backend flies vehicles of one autopilot and is registered under that autopilot's
name (entry point group `swarm_ros.hardware`, Crazyswarm2-style one class per backend): the
built-ins are `crazyflie` (cflib) and `px4` (MAVLink via pymavlink). A drone is flown by the
backend of its platform's `autopilot` (config/platforms/*.yaml): a registered name, or the
backend class itself as `module:Class`; `mixed` picks that per drone.
An autopilot no backend flies still simulates; deploying it is an error that names it.
"""
from __future__ import annotations

from functools import lru_cache

from ..core.configfile import ConfigError
from ..core import plugins

GROUP = "swarm_ros.hardware"
MIXED = "mixed"


def backend_names() -> list[str]:
    """The autopilots a backend flies (built-in, then installed plugins)."""
    return plugins.names(GROUP)


def backend_choices() -> list[str]:
    """What `swarm-ros deploy --backend` accepts."""
    return [*backend_names(), MIXED]


class BackendError(ValueError):
    """A backend named (registered or module:Class) that cannot be loaded; the message is one line."""


@lru_cache(maxsize=None)
def backend_class(autopilot: str):
    """The Backend subclass that flies `autopilot` (a registered name or module:Class), or None
    for a name nobody registers. Its driver library is imported only on connect."""
    from .base import Backend
    if ":" not in autopilot and autopilot not in plugins.installed(GROUP):
        return None
    try:
        return plugins.load(GROUP, autopilot, Backend, "hardware backend")
    except plugins.PluginError as err:
        raise BackendError(err.problem) from None


def uses_system_ids(autopilot: str) -> bool:
    """Whether vehicles of `autopilot` carry a MAVLink system id (fleet field `sysid`); a backend
    that does not load counts as none here (simulation flies it; deploying it is the error)."""
    try:
        cls = backend_class(autopilot)
    except BackendError:
        return False
    return bool(cls and cls.system_ids)


def system_id_autopilots() -> list[str]:
    return [a for a in backend_names() if uses_system_ids(a)]


def require_backends(fleet) -> None:
    """A ConfigError naming the platform file of the first drone whose autopilot no backend flies."""
    allowed = ("an autopilot with a hardware backend: " + ", ".join(backend_names())
               + f" (or install one: entry point group {GROUP}), or a Backend subclass as module:Class")
    for d in fleet.drones:
        try:
            cls = backend_class(d.autopilot)
        except BackendError as err:
            raise ConfigError(d.platform_spec.file, "autopilot", f"{d.autopilot!r} (drone {d.name!r}): {err}",
                              allowed) from None
        if cls is None:
            raise ConfigError(d.platform_spec.file, "autopilot", f"{d.autopilot!r} (drone {d.name!r} of fleet "
                              f"{fleet.file}): no hardware backend flies it; simulation only", allowed)


def make_backend(kind: str, drone, uri: str):
    """A backend of `kind` (an autopilot name) for one drone."""
    cls = backend_class(kind)
    if cls is None:
        raise ValueError(f"unknown backend {kind!r}; allowed: {', '.join(backend_names())}")
    return cls(drone, uri)


__all__ = ["GROUP", "MIXED", "BackendError", "backend_names", "backend_choices", "backend_class",
           "uses_system_ids", "system_id_autopilots", "require_backends", "make_backend"]
