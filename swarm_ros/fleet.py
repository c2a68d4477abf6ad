"""Fleet files: vehicle types, roles and per-drone entries, layered drone > type > fleet defaults.

    name: lab_fleet
    defaults: {radio_range: 30}                # any vehicle field, role, tags
    types:
      cf: {platform: crazyflie_2.1, role: ring, max_speed: 0.8}
      x500: {platform: px4_x500, role: ring}
    drones:
      cf1: {type: cf, start: [0, 0, 0], uri: radio://0/80/2M/E7E7E7E701}
      x1: {type: x500, start: [2, 0, 0], uri: "udp://10.0.0.11:14550", sysid: 1}

A drone's figures start from its platform profile (platforms.py); fleet defaults, then its
type, then its own entry override them. A PX4 drone's `sysid` is the MAVLink system id its
autopilot must report (its MAV_SYS_ID); without one, the n-th PX4 drone of the fleet gets n.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .core.configfile import Choice, ListOf, Name, Number, Section, Text, Vector, load_yaml
from .platforms import FIELD_CHECKS, PLATFORMS, VehicleParams


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
    sysid: int | None = None   # MAVLink system id a PX4 vehicle must report (None: Crazyflies)


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


def _sysid(dsec: Section, platform: str, earlier: list[DroneSpec]) -> int | None:
    """A PX4 drone's MAVLink system id: its own `sysid`, else 1 + the PX4 drones listed before it."""
    if platform.startswith("crazyflie"):
        if dsec.has("sysid"):
            raise dsec.error("sysid", f"a MAVLink system id, but the drone is a {platform}", "sysid on PX4 drones only")
        return None
    taken = {d.sysid: d.name for d in earlier if d.sysid is not None}
    sysid = dsec.get("sysid", Number(1, 254, integer=True), None)
    if sysid is None:
        sysid = 1 + sum(not d.platform.startswith("crazyflie") for d in earlier)
    if sysid in taken:
        raise dsec.error("sysid", f"system id {sysid} is also {taken[sysid]}'s (own or by fleet order)",
                         "a MAVLink system id 1-254 no other drone of the fleet has")
    return sysid


def load_fleet(path: str | Path) -> Fleet:
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
        platform = tsec.get("platform", Choice(PLATFORMS))
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
        vehicle = PLATFORMS[platform].with_overrides(**merged)
        start = dsec.get("start", Vector(3))
        uri = dsec.get("uri", Text(), None)
        sysid = _sysid(dsec, platform, drones)
        dsec.finish()
        drones.append(DroneSpec(dname, len(drones), tname, platform, role, vehicle, start, tags, uri, role_field, sysid))
    if not drones:
        raise top.error("drones", "no drones", "at least one drone entry")
    drones_sec.finish()
    top.finish()
    return Fleet(name, str(Path(path).resolve()), tuple(drones))

