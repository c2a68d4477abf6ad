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

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim.radio import RadioSpec
from sim.world import World, load_world
from .core.configfile import Bool, Choice, ConfigError, ListOf, Name, Number, Section, Text, load_yaml, resolve_file
from .control import CONTROLLERS
from .control.cao_evaluator import ObjectiveSpec
from .updates_config import UpdatesSpec, read_updates
from .core.neighbours import pairs_within
from .fleet import Fleet, load_fleet
from .physics import PhysicsBackend, SimContext, read_backend
from .resources import share_dir

POSITIVE = Number(0, lo_open=True)
TRACKING = ("direct", "mpc")    # how a role's velocity setpoints reach the vehicle
RECORDABLE = ("odom", "cmd", "radio", "status", "poses", "markers", "objective", "plan", "updates")



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
    objective: ObjectiveSpec | None = None    # the team cost CAO roles optimise, if any
    updates: UpdatesSpec | None = None        # model patches during the flight (issue 6), if any
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

    def cao_roles(self) -> dict[int, str]:
        """Fleet index -> role of every drone flying the `cao` controller."""
        return {d.index: d.role for d in self.fleet.drones if self.roles[d.role].controller == "cao"}

    def planned_roles(self) -> dict[int, str]:
        """Fleet index -> role of every drone flying the `planned` controller (it calls the planner)."""
        return {d.index: d.role for d in self.fleet.drones if self.roles[d.role].controller == "planned"}


def _read_phases(top: Section, duration: float) -> Phases:
    sec = top.section("phases")
    tk = sec.section("takeoff")
    alt = tk.get("altitude", POSITIVE)
    tk_dur = tk.get("duration", POSITIVE)
    tk_speed = tk.get("speed", POSITIVE, 0.5)
    tk.finish()
    ld = sec.section("land")
    ld_dur = ld.get("duration", POSITIVE)
    ld_speed = ld.get("speed", POSITIVE, 0.4)
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
        ctrl = rsec.get("controller", Choice(CONTROLLERS))
        params = CONTROLLERS[ctrl].Params.read(rsec.section("params", required=False))
        tracking = rsec.get("tracking", Choice(TRACKING), "direct")
        rsec.finish()
        roles[name] = Role(name, len(roles), ctrl, params, tracking)
    if not roles:
        raise top.error("roles", "no roles", "at least one role with a controller")
    sec.finish()
    return roles


def _read_objective(top: Section, roles: dict, world: World, phases: Phases, seed: int):
    """The `objective` section, required exactly when a role uses the `cao` controller; binds
    each CAO role's params to it (iteration schedule) and to the world (its map)."""
    cao = [r for r in roles.values() if r.controller == "cao"]
    if not top.has("objective"):
        if cao:
            raise top.error("objective", "missing", f"an objective section: role {cao[0].name!r} uses the cao controller")
        return None
    if not cao:
        raise top.error("objective", "no role uses the cao controller", "an objective only with cao roles")
    spec = ObjectiveSpec.read(top.section("objective"), [r.name for r in cao], phases.takeoff_end)
    objective = spec.build(world)
    need = objective.d
    for r in cao:
        if r.params.dims != need:
            fixed = "[h, h] (one altitude)" if need == 2 else "[lowest, highest] with lowest < highest"
            raise top.error(f"roles.{r.name}.params.altitude", f"objective {spec.kind} needs {need}-D decisions",
                            f"an altitude band {fixed}")
        if r.params.altitude[0] < objective.floor:
            raise top.error(f"roles.{r.name}.params.altitude", f"got {list(r.params.altitude)}",
                            f"altitudes from {objective.floor:g} m up: the terrain of objective {spec.kind} "
                            "reaches that high (with 0.5 m to spare)")
        if r.params.altitude[0] >= world.bounds_max[2]:
            raise top.error(f"roles.{r.name}.params.altitude", f"got {list(r.params.altitude)}",
                            f"altitudes below the geofence ceiling {world.bounds_max[2]:g} of world {world.name!r}")
        roles[r.name] = replace(r, params=r.params.bind(world, spec, seed))
    return spec


def _bind_planned(top: Section, roles: dict, fleet: Fleet, world: World, seed: int) -> None:
    """Give `planned` roles the world; each drone's goals must lie in its planning box, clear of
    every obstacle (those appearing later too) by its body radius plus the planning margin."""
    for r in [r for r in roles.values() if r.controller == "planned"]:
        params = r.params.bind(world, seed)
        lo, hi = params.box(world)
        field = f"roles.{r.name}.params"
        if not (lo < hi).all():
            raise top.error(f"{field}.altitude", f"got {list(params.altitude)}", f"a band reaching below "
                            f"{hi[2]:g} m (the geofence ceiling of world {world.name!r} less fence_margin)")
        for d in [d for d in fleet.drones if d.role == r.name]:
            goals = params.targets(np.array([d.start], float))[0]
            need = d.vehicle.body_radius + params.margin
            clear = world.clearance(goals)
            for k, g in enumerate(goals):
                if not ((g >= lo) & (g <= hi)).all() or clear[k] < need:
                    where = "outside the planning box" if clear[k] >= need else \
                        f"{clear[k]:.3g} m from an obstacle"
                    raise top.error(f"{field}.goals[{k}]", f"{g.tolist()} for drone {d.name!r} is {where}",
                                    f"a point within {lo.tolist()} .. {hi.tolist()} (geofence less fence_margin, "
                                    f"heights in altitude) at least {need:g} m from every obstacle")
        roles[r.name] = replace(r, params=params)


def _check_policy_goals(top: Section, roles: dict, fleet: Fleet, world: World) -> None:
    """`policy` roles: each drone's goal inside the geofence, clear of obstacles by its body radius."""
    for r in [r for r in roles.values() if r.controller == "policy"]:
        for d in [d for d in fleet.drones if d.role == r.name]:
            goal = r.params.targets(np.array([d.start], float))
            if not world.inside_fence(goal)[0] or world.clearance(goal)[0] < d.vehicle.body_radius:
                raise top.error(f"roles.{r.name}.params.goal", f"{goal[0].tolist()} for drone {d.name!r} is outside "
                                f"the geofence or in an obstacle", f"a goal within {world.bounds_min.tolist()} .. "
                                f"{world.bounds_max.tolist()}, at least the body radius from every obstacle")


def _check_fisc(top: Section, roles: dict, fleet: Fleet, radio: RadioSpec) -> None:
    """`fisc` drones start inside their channel, and what they receive reaches two smoothing lengths."""
    for r in [r for r in roles.values() if r.controller == "fisc"]:
        ch, reach = r.params.channel, 2.0 * r.params.fisc.h
        need = f"at least 2h = {reach:g} m: the fisc law of role {r.name!r} needs the agents within two smoothing lengths"
        if radio.range is not None and radio.range < reach:
            raise top.error("radio.range", f"got {radio.range:g}", need)
        for d in [d for d in fleet.drones if d.role == r.name]:
            at = [d.start[0], d.start[1]] + ([0.5 * ch.height] if ch.dim == 3 else [])
            if float(ch.clearance(np.array([at], float))[0]) < d.vehicle.body_radius:
                raise ConfigError(fleet.file, f"drones.{d.name}.start", f"{list(d.start)} is outside the channel of "
                                  f"role {r.name!r}", "a start inside the channel, the body radius from its walls")
            if d.vehicle.radio_range < reach:
                raise ConfigError(fleet.file, f"drones.{d.name}.radio_range", f"got {d.vehicle.radio_range:g}", need)


def _up_to_control_rate(control_rate: float, lo_open: bool = False) -> Number:
    """A rate from 0 up to control_rate; the allowed text says where the upper limit comes from."""
    check = Number(0, control_rate, lo_open=lo_open)
    check.allowed += " (the control_rate)"
    return check


def _read_radio(top: Section, control_rate: float) -> RadioSpec:
    sec = top.section("radio", required=False)
    prob = Number(0, 1, hi_open=True)
    spec = RadioSpec(sec.get("range", POSITIVE, None), sec.get("loss", prob, 0.0),
                     sec.get("loss_at_range", Number(0, 1), None), sec.get("latency", Number(0), 0.0),
                     sec.get("beacon_rate", _up_to_control_rate(control_rate, lo_open=True), 10.0),
                     sec.get("neighbour_timeout", POSITIVE, 1.0))
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
    fleet = load_fleet(resolve_file(top, "fleet", "fleet file", [share_dir() / "config" / "fleets"]), path)
    world = load_world(resolve_file(top, "world", "world file", [share_dir() / "sim" / "worlds"]))
    duration = top.get("duration", POSITIVE)
    control_rate = top.get("control_rate", Number(1, 1000), 50.0)
    phases = _read_phases(top, duration)
    roles = _read_roles(top)
    radio = _read_radio(top, control_rate)

    sim = top.section("sim", required=False)
    physics_rate = sim.get("physics_rate", Number(1, 10000), 4 * control_rate)
    speed = sim.get("speed", Number(0), 1.0)
    backend, physics = read_backend(sim, SimContext(control_rate, physics_rate, fleet))
    sim.finish()
    ratio = physics_rate / control_rate
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise sim.error("physics_rate", f"got {physics_rate:g} with control_rate {control_rate:g}",
                        "a whole multiple of control_rate")

    rec = top.section("record", required=False)
    record_topics = tuple(rec.get("topics", ListOf(Choice(RECORDABLE), unique=True), None) or ())
    record = Record(rec.get("enabled", Bool(), True), rec.get("path", Text(), "runs"),
                    rec.get("storage", Choice(["mcap", "sqlite3"]), "mcap"), record_topics)
    rec.finish()
    view_rate = top.get("view_rate", _up_to_control_rate(control_rate), 10.0)
    seed = top.get("seed", Number(0, integer=True), 0)
    objective = _read_objective(top, roles, world, phases, seed)
    updates = read_updates(top)
    top.finish()
    planned = any(r.controller == "planned" for r in roles.values())
    if not record.topics:           # default: everything the mission publishes
        record = replace(record, topics=tuple(k for k in RECORDABLE if (k != "objective" or objective)
                                              and (k != "plan" or planned) and (k != "updates" or updates)))
    elif "objective" in record.topics and objective is None:
        raise ConfigError(top.file, "record.topics", "'objective' is recorded only for missions with an objective",
                          "the other kinds: " + ", ".join(k for k in RECORDABLE if k != "objective"))
    elif "plan" in record.topics and not planned:
        raise ConfigError(top.file, "record.topics", "'plan' is recorded only for missions with planned roles",
                          "the other kinds: " + ", ".join(k for k in RECORDABLE if k != "plan"))

    for d in fleet.drones:
        if d.role not in roles:
            raise ConfigError(fleet.file, d.role_field or f"drones.{d.name}.role", f"role {d.role!r} of drone "
                              f"{d.name!r} is not defined by mission {top.file}", "one of " + ", ".join(roles))
    if phases.takeoff_altitude >= world.bounds_max[2]:
        raise ConfigError(top.file, "phases.takeoff.altitude", f"got {phases.takeoff_altitude:g}",
                          f"a height below the geofence ceiling {world.bounds_max[2]:g} of world {world.name!r}")
    _check_starts(fleet, world)
    _bind_planned(top, roles, fleet, world, seed)
    _check_policy_goals(top, roles, fleet, world)
    _check_fisc(top, roles, fleet, radio)
    return Mission(name, str(Path(path).resolve()), fleet, world, duration, control_rate, physics_rate, backend,
                   speed, phases, roles, radio, record, view_rate, seed, objective, updates, physics)
