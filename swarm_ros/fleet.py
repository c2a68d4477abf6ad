"""Fleet files: vehicle types, roles and per-drone entries, layered drone > type > fleet defaults.

    name: lab_fleet
    defaults: {radio_range: 30}                # any vehicle field, role, tags
    types:
      cf: {platform: crazyflie_2.1, role: ring, max_speed: 0.8}
      x500: {platform: px4_x500, role: ring}
    drones:
      cf1: {type: cf, start: [0, 0, 0], uri: radio://0/80/2M/E7E7E7E701}
      x1: {type: x500, start: [2, 0, 0], uri: "udp://10.0.0.11:14550", sysid: 1}

A drone's figures start from its platform file (config/platforms/<platform>.yaml, or a
`platforms/` folder beside the fleet or mission file: platforms.py); fleet defaults, then its
type, then its own entry override them. The `sysid` of a drone whose autopilot speaks MAVLink
(PX4) is the system id it must report (its MAV_SYS_ID); without one, the n-th such drone of the
fleet gets n.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .core.configfile import Choice, ListOf, Name, Number, Section, Text, Vector, load_yaml
from .hardware import system_id_autopilots, uses_system_ids
from .core.platforms import FIELD_CHECKS, Platform, VehicleParams, find_platform, local_dirs, platform_files


@dataclass(frozen=True)
class DroneSpec:
    name: str
    index: int                 # position in the fleet roster (beacon sender id)
    type: str
    platform: str
    role: str
    vehicle: VehicleParams
    start: tuple[float, float, float]
    tags: tuple[str, ...] = ()
    uri: str | None = None     # hardware link (radio URI or MAVLink address), unused in simulation
    role_field: str = field(default="", compare=False)   # where the fleet file set the role, for messages
    sysid: int | None = None   # MAVLink system id the vehicle must report (None: autopilots without one)
    platform_spec: Platform | None = None    # the platform file's figures (airframe, autopilot, colour)

    @property
    def autopilot(self) -> str:
        return self.platform_spec.autopilot

    @property
    def airframe(self):
        """The rigid-body airframe (core.vehicle.Airframe), or None when the platform file gives none."""
        return self.platform_spec.airframe


@dataclass(frozen=True)
class Fleet:
    name: str
    file: str
    drones: tuple[DroneSpec, ...]

    def by_name(self, name: str) -> DroneSpec:
        for d in self.drones:
            if d.name == name:
                return d
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.drones]


def _layer(sec: Section) -> dict:
    """The settings one layer gives: vehicle fields, role, tags (only those present)."""
    out = {k: sec.get(k, check) for k, check in FIELD_CHECKS.items() if sec.has(k)}
    if sec.has("role"):
        out["role"] = sec.get("role", Name())
    if sec.has("tags"):
        out["tags"] = tuple(sec.get("tags", ListOf(Name(), unique=True)))
    return out


def _check_name(sec: Section, key: str, what: str) -> None:
    if not Name.pattern.match(key):
        raise sec.error(key, f"bad {what} name {key!r}", Name.allowed)


def _sysid(dsec: Section, platform: Platform, earlier: list[DroneSpec]) -> int | None:
    """The MAVLink system id of a drone whose autopilot has one: its own `sysid`, else 1 + the
    drones with system ids listed before it."""
    if not uses_system_ids(platform.autopilot):
        if dsec.has("sysid"):
            raise dsec.error("sysid", f"a MAVLink system id, but the drone is a {platform.name} (autopilot "
                             f"{platform.autopilot})", "sysid on drones of autopilot "
                             + ", ".join(system_id_autopilots()) + " only")
        return None
    taken = {d.sysid: d.name for d in earlier if d.sysid is not None}
    sysid = dsec.get("sysid", Number(1, 254, integer=True), None)
    if sysid is None:
        sysid = 1 + sum(d.sysid is not None for d in earlier)
    if sysid in taken:
        raise dsec.error("sysid", f"system id {sysid} is also {taken[sysid]}'s (own or by fleet order)",
                         "a MAVLink system id 1-254 no other drone of the fleet has")
    return sysid


def _read_platform(tsec: Section, local: list[Path]) -> Platform:
    """The type's `platform`: a name from platform_files(); its file's own errors name that file."""
    files = platform_files(local)
    name = tsec.get("platform", Choice(files))
    return find_platform(name, local)


def load_fleet(path: str | Path, mission_file: str | Path | None = None) -> Fleet:
    """Read a fleet file; platforms are looked up beside it first, then beside `mission_file`."""
    local = local_dirs(path, *([mission_file] if mission_file else []))
    top = load_yaml(path, "fleet file")
    name = top.get("name", Name())
    defaults_sec = top.section("defaults", required=False)
    defaults = _layer(defaults_sec)
    defaults_sec.finish()

    types_sec = top.section("types")
    types = {}
    for tname in types_sec.keys():
        _check_name(types_sec, tname, "type")
        tsec = types_sec.section(tname)
        platform = _read_platform(tsec, local)
        types[tname] = (platform, _layer(tsec))
        tsec.finish()
    if not types:
        raise top.error("types", "no vehicle types", "at least one type with a platform")
    types_sec.finish()

    drones_sec = top.section("drones")
    drones = []
    for dname in drones_sec.keys():
        _check_name(drones_sec, dname, "drone")
        dsec = drones_sec.section(dname)
        tname = dsec.get("type", Choice(types))
        platform, type_layer = types[tname]
        own = _layer(dsec)
        role_field = next((f for f, layer in ((f"drones.{dname}.role", own), (f"types.{tname}.role", type_layer),
                                              ("defaults.role", defaults)) if "role" in layer), "")
        merged = {**defaults, **type_layer, **own}
        role = merged.pop("role", None)
        if role is None:
            raise dsec.error("role", "missing (no role in the drone entry, its type or the fleet defaults)",
                             "a role name defined by the mission")
        tags = merged.pop("tags", ())
        vehicle = platform.vehicle.with_overrides(**merged)
        start = dsec.get("start", Vector(3))
        uri = dsec.get("uri", Text(), None)
        sysid = _sysid(dsec, platform, drones)
        dsec.finish()
        drones.append(DroneSpec(dname, len(drones), tname, platform.name, role, vehicle, start, tags, uri, role_field,
                                sysid, platform))
    if not drones:
        raise top.error("drones", "no drones", "at least one drone entry")
    drones_sec.finish()
    top.finish()
    return Fleet(name, str(Path(path).resolve()), tuple(drones))

