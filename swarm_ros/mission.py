"""Mission files: what a swarm flies. Strictly validated at load time.

    name: ring_demo
    fleet: ../fleets/mixed.yaml          # relative to this file, or a name in config/fleets
    world: pillars.yaml                  # relative to this file, or a name in sim/worlds
    duration: 40                         # s, whole mission; the task phase fills what
    control_rate: 50                     #   take-off and landing leave
    phases:
      takeoff: {altitude: 1.0, duration: 5}
      land: {duration: 6, at: here}      # or at: home (back over the start pad)
    roles:
      ring: {controller: formation, params: {shape: ring, center: [0, 0, 1.5], radius: 3}}
    radio: {range: 8, loss: 0.05, latency: 0.02, beacon_rate: 10}
    record: {topics: [odom, cmd, radio, status, markers]}

Any error raises ConfigError naming file, field path, bad value and what is allowed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sim.radio import RadioSpec
from sim.world import World, load_world
from .core import plugins
from .core.configfile import Bool, Choice, ConfigError, ListOf, Name, Number, Section, Text, load_yaml, resolve_file
from .control.contract import Controller
from .control.plugin import RoleContext, ServiceContext, ServiceUse
from .updates_config import UpdatesSpec, read_updates
from .core.neighbours import pairs_within
from .core.plausible import MAX_START_HEIGHT, plausible
from .fleet import Fleet, load_fleet
from .physics import PhysicsBackend, SimContext, read_backend
from .core.resources import share_dir

POSITIVE = Number(0, lo_open=True)
TRACKING = ("direct", "mpc")    # how a role's velocity setpoints reach the vehicle
RECORDABLE = ("odom", "cmd", "radio", "status", "poses", "markers", "updates")   # and what services add



@dataclass(frozen=True)
class Phases:
    """Take-off [0, takeoff_end), task [takeoff_end, task_end), land [task_end, duration]."""
    takeoff_altitude: float
    takeoff_duration: float
    takeoff_speed: float
    land_duration: float
    land_speed: float
    land_at: str          # "here" (straight down) or "home" (back over the start pad first)
    duration: float

    @property
    def takeoff_end(self) -> float:
        return self.takeoff_duration

    @property
    def task_end(self) -> float:
        return self.duration - self.land_duration

    def at(self, t: float) -> str:
        return "takeoff" if t < self.takeoff_end else "task" if t < self.task_end else "land"


@dataclass(frozen=True)
class Role:
    name: str
    group: int            # index of the role in the mission; broadcast in beacons
    controller: str
    params: object
    tracking: str = "direct"   # "mpc": the platform's MPC tracks the controller's setpoints (control/mpc.py)
    cls: type = None           # the controller class `controller` names (a plugin)


@dataclass(frozen=True)
class Record:
    enabled: bool
    path: str             # directory for bags, relative to the working directory
    storage: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Mission:
    name: str
    file: str
    fleet: Fleet
    world: World
    duration: float
    control_rate: float
    physics_rate: float
    backend: str           # the physics backend's name as the mission gives it
    speed: float           # real-time factor the simulator aims at; 0 = as fast as possible
    phases: Phases
    roles: dict
    radio: RadioSpec
    record: Record
    view_rate: float
    seed: int
    services: dict = field(default_factory=dict)   # name -> control.plugin.ServiceUse of each mission service
    updates: UpdatesSpec | None = None        # model patches during the flight, if any
    physics: PhysicsBackend | None = None     # the physics backend with its own options

    @property
    def dt(self) -> float:
        return 1.0 / self.control_rate

    @property
    def substeps(self) -> int:
        return int(round(self.physics_rate / self.control_rate))

    @property
    def ticks(self) -> int:
        return int(round(self.duration * self.control_rate))

    def service_of(self, index: int) -> ServiceUse | None:
        """The mission service fleet drone `index` talks to, if any."""
        return next((use for use in self.services.values() if index in use.drones), None)


def _read_phases(top: Section, duration: float) -> Phases:
    sec = top.section("phases")
    tk = sec.section("takeoff")
    alt = tk.get("altitude", plausible("phases.takeoff.altitude"))
    tk_dur = tk.get("duration", plausible("phases.takeoff.duration"))
    tk_speed = tk.get("speed", plausible("phases.takeoff.speed"), 0.5)
    tk.finish()
    ld = sec.section("land")
    ld_dur = ld.get("duration", plausible("phases.land.duration"))
    ld_speed = ld.get("speed", plausible("phases.land.speed"), 0.4)
    ld_at = ld.get("at", Choice(["here", "home"]), "here")
    ld.finish()
    sec.finish()
    if tk_dur + ld_dur >= duration:
        raise top.error("phases", f"take-off {tk_dur:g} s + landing {ld_dur:g} s leave no time for the task "
                        f"in duration {duration:g} s", "take-off and landing durations summing to less than duration")
    return Phases(alt, tk_dur, tk_speed, ld_dur, ld_speed, ld_at, duration)


def _read_roles(top: Section) -> dict:
    sec = top.section("roles")
    roles = {}
    for name in sec.keys():
        if not Name.pattern.match(name):
            raise sec.error(name, f"bad role name {name!r}", Name.allowed)
        rsec = sec.section(name)
        ctrl, cls = plugins.read(rsec, "controller", plugins.CONTROLLERS, Controller, "controller")
        params = cls.Params.read(rsec.section("params", required=False)) if cls.Params else None
        tracking = rsec.get("tracking", Choice(TRACKING), "direct")
        rsec.finish()
        roles[name] = Role(name, len(roles), ctrl, params, tracking, cls)
    if not roles:
        raise top.error("roles", "no roles", "at least one role with a controller")
    sec.finish()
    return roles


def _read_services(top: Section, roles: dict, fleet: Fleet, world: World, phases: Phases,
                   seed: int) -> dict[str, ServiceUse]:
    """The mission services the roles' controllers need, each configured once (reading its own
    section of the mission file and binding its roles' params)."""
    served: dict = {}                   # service class -> names of the roles it serves
    for r in roles.values():
        if r.cls.service is not None:
            served.setdefault(r.cls.service, []).append(r.name)
    out = {}
    for kind, names in served.items():
        config = kind.configure(ServiceContext(top, roles, names, world, phases, seed))
        drones = {d.index: d.role for d in fleet.drones if d.role in names}
        out[kind.name] = ServiceUse(kind, config, drones)
    return out


def _service_owning(attr: str, value: str):
    """(controller name, service) of an installed controller whose service has `attr` == value:
    who a section or record kind belongs to, for the error when no role uses it. Imports every
    installed controller, so only on that error's path."""
    return next(((name, cls.service) for name, cls in plugins.load_all(plugins.CONTROLLERS, Controller).items()
                 if cls.service is not None and getattr(cls.service, attr) == value), None)


def _check_unclaimed_sections(top: Section) -> None:
    """A service's section in a mission none of whose roles use that service."""
    for key in [k for k in top.keys() if k not in top.used]:
        owner = _service_owning("section", key)
        if owner:
            raise top.error(key, f"no role uses the {owner[0]} controller",
                            f"a{'n' if key[0] in 'aeiou' else ''} {key} section only with {owner[0]} roles")


def _record_kinds(roles: dict) -> tuple[str, ...]:
    """What record.topics may name: the base kinds and those of the roles' mission services."""
    extra = tuple(dict.fromkeys(r.cls.service.record for r in roles.values()
                                if r.cls.service is not None and r.cls.service.record))
    return RECORDABLE[:-1] + extra + RECORDABLE[-1:]


def _read_record(top: Section, kinds: tuple[str, ...]) -> Record:
    rec = top.section("record", required=False)
    given = rec.data.get("topics") if isinstance(rec.data, dict) else None
    for k in given if isinstance(given, list) else ():
        owner = _service_owning("record", k) if isinstance(k, str) and k not in kinds else None
        if owner:
            raise rec.error("topics", f"{k!r} is recorded only for {owner[1].record_when}",
                            "the other kinds: " + ", ".join(kinds))
    record_topics = tuple(rec.get("topics", ListOf(Choice(kinds), unique=True), None) or ())
    record = Record(rec.get("enabled", Bool(), True), rec.get("path", Text(), "runs"),
                    rec.get("storage", Choice(["mcap", "sqlite3"]), "mcap"), record_topics)
    rec.finish()
    return record


def _bind_roles(top: Section, roles: dict, fleet: Fleet, world: World, radio: RadioSpec, seed: int) -> None:
    """Each role's controller checks and completes its params against the mission."""
    for r in list(roles.values()):
        drones = [d for d in fleet.drones if d.role == r.name]
        params = r.cls.bind(r.params, RoleContext(top, r.name, drones, fleet, world, radio, seed))
        roles[r.name] = replace(r, params=params)


def _up_to_control_rate(control_rate: float, lo_open: bool = False) -> Number:
    """A rate from 0 up to control_rate; the allowed text says where the upper limit comes from."""
    check = Number(0, control_rate, lo_open=lo_open)
    check.allowed += " (the control_rate)"
    return check


def _read_radio(top: Section, control_rate: float) -> RadioSpec:
    sec = top.section("radio", required=False)
    prob = Number(0, 1, hi_open=True)
    spec = RadioSpec(sec.get("range", plausible("radio.range"), None), sec.get("loss", prob, 0.0),
                     sec.get("loss_at_range", Number(0, 1), None), sec.get("latency", plausible("radio.latency"), 0.0),
                     sec.get("beacon_rate", _up_to_control_rate(control_rate, lo_open=True), 10.0),
                     sec.get("neighbour_timeout", plausible("radio.neighbour_timeout"), 1.0))
    sec.finish()
    return spec


def _check_starts(fleet: Fleet, world: World) -> None:
    starts = np.array([d.start for d in fleet.drones])
    radius = np.array([d.vehicle.body_radius for d in fleet.drones])
    inside = world.inside_fence(starts)
    clear = world.clearance(starts) - radius
    for k, d in enumerate(fleet.drones):
        field = f"drones.{d.name}.start"
        if not inside[k]:
            raise ConfigError(fleet.file, field, f"{list(d.start)} is outside the geofence of world {world.name!r}",
                              f"a point within {world.bounds_min.tolist()} .. {world.bounds_max.tolist()}")
        if d.start[2] > world.bounds_min[2] + MAX_START_HEIGHT:
            raise ConfigError(fleet.file, field, f"{list(d.start)} is {d.start[2] - world.bounds_min[2]:g} m above the "
                              f"ground (the geofence floor of world {world.name!r}): drones take off from their pads",
                              f"a start at most {MAX_START_HEIGHT:g} m above the floor z = {world.bounds_min[2]:g}")
        if clear[k] < 0:
            raise ConfigError(fleet.file, field, f"{list(d.start)} puts the drone inside an obstacle of world "
                              f"{world.name!r}", "a start point at least the body radius away from every obstacle")
    i, j = pairs_within(starts, 2 * radius.max())
    overlap = np.linalg.norm(starts[i] - starts[j], axis=1) < radius[i] + radius[j]
    if overlap.any():
        a, b = i[overlap][0], j[overlap][0]
        raise ConfigError(fleet.file, f"drones.{fleet.drones[b].name}.start",
                          f"{list(fleet.drones[b].start)} overlaps drone {fleet.drones[a].name!r}",
                          "start points further apart than the two body radii")


def load_mission(path: str | Path) -> Mission:
    """Read and validate a mission file with its fleet and world files."""
    top = load_yaml(path, "mission file")
    name = top.get("name", Name())
    top.get("description", Text(), "")
    fleet = load_fleet(resolve_file(top, "fleet", "fleet file", [share_dir() / "config" / "fleets"], ".yaml"),
                       path)
    world = load_world(resolve_file(top, "world", "world file", [share_dir() / "sim" / "worlds"], ".yaml"))
    duration = top.get("duration", plausible("duration"))
    control_rate = top.get("control_rate", plausible("control_rate"), 50.0)
    phases = _read_phases(top, duration)
    roles = _read_roles(top)
    radio = _read_radio(top, control_rate)

    sim = top.section("sim", required=False)
    physics_rate = sim.get("physics_rate", plausible("sim.physics_rate"), 4 * control_rate)
    speed = sim.get("speed", plausible("sim.speed"), 1.0)
    backend, physics = read_backend(sim, SimContext(control_rate, physics_rate, fleet))
    sim.finish()
    ratio = physics_rate / control_rate
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise sim.error("physics_rate", f"got {physics_rate:g} with control_rate {control_rate:g}",
                        "a whole multiple of control_rate")

    kinds = _record_kinds(roles)
    record = _read_record(top, kinds)
    view_rate = top.get("view_rate", _up_to_control_rate(control_rate), 10.0)
    seed = top.get("seed", Number(0, integer=True), 0)
    services = _read_services(top, roles, fleet, world, phases, seed)
    updates = read_updates(top)
    _check_unclaimed_sections(top)
    top.finish()
    if not record.topics:           # default: everything the mission publishes
        record = replace(record, topics=tuple(k for k in kinds if k != "updates" or updates))

    for d in fleet.drones:
        if d.role not in roles:
            raise ConfigError(fleet.file, d.role_field or f"drones.{d.name}.role", f"role {d.role!r} of drone "
                              f"{d.name!r} is not defined by mission {top.file}", "one of " + ", ".join(roles))
    if phases.takeoff_altitude >= world.bounds_max[2]:
        raise ConfigError(top.file, "phases.takeoff.altitude", f"got {phases.takeoff_altitude:g}",
                          f"a height below the geofence ceiling {world.bounds_max[2]:g} of world {world.name!r}")
    _check_starts(fleet, world)
    _bind_roles(top, roles, fleet, world, radio, seed)
    return Mission(name, str(Path(path).resolve()), fleet, world, duration, control_rate, physics_rate, backend,
                   speed, phases, roles, radio, record, view_rate, seed, services, updates, physics)
