"""Hardware backends: the same drone nodes fly real vehicles; only the backend differs.

Backends are chosen by name, Crazyswarm2-style: `crazyflie` (cflib) and `px4` (MAVLink via
pymavlink); `mixed` gives each drone the backend of its platform.
"""
from __future__ import annotations

BACKEND_NAMES = ("crazyflie", "px4", "mixed")


def backend_kind(platform: str) -> str:
    """The backend that flies a vehicle of `platform`."""
    return "crazyflie" if platform.startswith("crazyflie") else "px4"


def make_backend(kind: str, drone, uri: str):
    """A backend of `kind` for one drone (imports its driver library only when needed)."""
    if kind == "crazyflie":
        from .crazyflie import CrazyflieBackend
        return CrazyflieBackend(drone, uri)
    if kind == "px4":
        from .px4 import Px4Backend
        return Px4Backend(drone, uri)
    raise ValueError(f"unknown backend {kind!r}; allowed: crazyflie, px4")
