"""Physics backends: the declared interface, the built-ins, and lookup by name.

A mission picks one with `sim: {backend: <name>}`: a name registered in entry point group
`swarm_ros.physics` (the built-ins `pointmass` and `pybullet` register there too) or a
`module:Class` path. The backend class reads and checks its own options from the mission's `sim`
section (mission.py knows none of them) and builds the swarm's physics, which sim/engine.py steps.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sim.rigidbody_spec import MIN_PHYSICS_RATE, Aero
from .core.configfile import Bool, Section
from .core import plugins

GROUP = "swarm_ros.physics"
DEFAULT = "pointmass"


@runtime_checkable
class PhysicsSwarm(Protocol):
    """What the simulator steps: N drones under velocity commands, (N, 3) arrays in the world frame.
    Rigid-body backends also offer `orientation` (N, 4; x, y, z, w) and `omega` (N, 3)."""
    n: int
    position: np.ndarray
    velocity: np.ndarray

    def step(self, v_cmd: np.ndarray, dt: float, substeps: int) -> None:
        """Hold the velocity commands (N, 3) for `substeps` steps of `dt` seconds."""


@dataclass(frozen=True)
class SimContext:
    """What a backend may check its options against (the rest of the mission is not read yet)."""
    control_rate: float
    physics_rate: float
    fleet: object               # swarm_ros.fleet.Fleet


class PhysicsBackend(ABC):
    """A physics backend plugin; an instance holds its options and is kept in Mission.physics."""
    options: tuple[str, ...] = ()     # the keys of the `sim` section this backend reads

    @classmethod
    def read(cls, sim: Section, ctx: SimContext) -> "PhysicsBackend":
        """Read this backend's options from the `sim` section; errors name file, field and allowed."""
        return cls()

    @abstractmethod
    def create(self, mission) -> PhysicsSwarm:
        """The physics of the mission's fleet, at their start points."""


def names() -> list[str]:
    return plugins.names(GROUP)


def checker() -> plugins.Plugin:
    return plugins.Plugin(GROUP, PhysicsBackend, "physics backend")


def read_backend(sim: Section, ctx: SimContext) -> tuple[str, PhysicsBackend]:
    """(name as given, backend with its options) from the `sim` section; leaves other keys to the caller."""
    check = checker()
    cls = sim.get("backend", check, None) or check(DEFAULT)
    name = sim.data.get("backend", DEFAULT)
    given = [k for k in _foreign_options(cls) if sim.has(k)]
    if given:
        owner = next(n for n, c in _option_owners().items() if given[0] in c)
        raise sim.error(given[0], f"is an option of the {owner} backend, not {name!r}",
                        f"backend: {owner} with it, or no {given[0]}")
    return name, cls.read(sim, ctx)


def _option_owners() -> dict[str, tuple[str, ...]]:
    """name -> options of every registered backend that loads (for the wrong-backend message)."""
    out = {}
    for n in names():
        try:
            out[n] = checker()(n).options
        except Exception:      # a broken plugin is reported when a mission names it
            continue
    return out


def _foreign_options(cls: type) -> set[str]:
    return {k for opts in _option_owners().values() for k in opts} - set(cls.options)


# --- the built-ins ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PointMass(PhysicsBackend):
    """Vectorized point mass with first-order velocity response (sim/pointmass.py); no options."""

    def create(self, mission) -> PhysicsSwarm:
        from sim.pointmass import PointMassSwarm
        drones = mission.fleet.drones
        return PointMassSwarm([d.vehicle for d in drones], [d.start for d in drones])


@dataclass(frozen=True)
class PyBullet(PhysicsBackend):
    """Rigid bodies in PyBullet (sim/rigidbody.py): `drag`, `ground_effect`, `downwash` (true/false).
    Needs a physics rate its attitude loop is stable at and an airframe in every platform file."""
    aero: Aero = Aero()
    options = tuple(Aero.__dataclass_fields__)

    @classmethod
    def read(cls, sim: Section, ctx: SimContext) -> "PyBullet":
        if ctx.physics_rate < MIN_PHYSICS_RATE:
            raise sim.error("physics_rate", f"got {ctx.physics_rate:g} with backend pybullet",
                            f"at least {MIN_PHYSICS_RATE:g} Hz for the rigid-body attitude loop")
        fleet = ctx.fleet
        for d in fleet.drones:
            if d.airframe is None:
                with_frame = _platforms_with_airframes(fleet)
                raise sim.error("backend", f"pybullet has no rigid-body model of platform {d.platform!r} "
                                f"(drone {d.name!r} of fleet {fleet.file}; its platform file gives no airframe)",
                                "pointmass, or a fleet of platforms " + ", ".join(with_frame))
        return cls(Aero(**{k: sim.get(k, Bool(), True) for k in cls.options}))

    def create(self, mission) -> PhysicsSwarm:
        from sim.rigidbody import RigidBodySwarm     # imported only when chosen
        return RigidBodySwarm(mission.fleet.drones, mission.world, self.aero)


def _platforms_with_airframes(fleet) -> list[str]:
    from .core.platforms import find_platform, local_dirs, platform_files
    local = local_dirs(fleet.file)
    return [n for n in platform_files(local) if find_platform(n, local).airframe is not None]
