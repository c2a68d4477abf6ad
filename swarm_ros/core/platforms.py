"""Vehicle platforms: one YAML file per platform, found by its file name.

A platform file (config/platforms/crazyflie_2.1.yaml is the annotated example) gives the
vehicle's body, limits, radio and sensors (VehicleParams), its rigid-body airframe for the
pybullet backend (optional), its view colour, the autopilot that flies it (`crazyflie`, `px4`,
or any name a hardware backend plugin registers) and the sources of its figures.

Where platforms come from, first match wins:
  1. `platforms/` beside the fleet file, then beside the mission file: a mission or fleet folder
     adds its own platforms or overrides installed ones by name;
  2. installed plugin packages: an entry point of group `swarm_ros.platforms` names a package (or
     module) whose folder holds platform files;
  3. the built-ins, config/platforms/.
Two installed sources defining one name is an error. Fleet files override any VehicleParams
figure per fleet, per type or per drone (drone > type > fleet defaults > platform).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from .configfile import ConfigError, Invalid, Name, Number, Section, Text, Vector, load_yaml
from .vehicle import Airframe, VehicleParams
from .plausible import Plausible
from .plugins import import_path, installed
from .resources import share_dir

__all__ = ["Platform", "VehicleParams", "FIELD_CHECKS", "PLATFORMS", "GROUP", "read_platform", "find_platform",
           "platform_files", "local_dirs", "builtin_dir"]

GROUP = "swarm_ros.platforms"
FOLDER = "platforms"          # the folder name beside a fleet or mission file
POSITIVE = Number(0, lo_open=True)
# Checker per field, used by platform and fleet files: each figure within its plausible range.
FIELD_CHECKS = {f.name: Plausible(f.name) for f in fields(VehicleParams)}
# platform file section.key -> VehicleParams field
_FIGURES = {("body", "mass"): "mass", ("body", "radius"): "body_radius",
            **{("limits", k): k for k in ("max_speed", "max_climb", "max_descent", "max_accel", "response_time")},
            ("radio", "range"): "radio_range", ("sensors", "range"): "sensing_range"}
_AIRFRAME_OPTIONAL = ("k_att", "k_rate", "max_rate")


class Autopilot:
    """An autopilot: the name a hardware backend is registered under, or that backend as module:Class."""
    path = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    allowed = Name.allowed + " (e.g. crazyflie, px4), or a hardware backend as module:Class"

    def __call__(self, v):
        if not isinstance(v, str) or not (Name.pattern.match(v) or self.path.match(v)):
            raise Invalid(self.allowed)
        return v


@dataclass(frozen=True)
class Platform:
    """One vehicle type as its platform file describes it."""
    name: str
    file: str
    autopilot: str
    vehicle: VehicleParams
    airframe: Airframe | None          # None: flies only with backends that need no rigid-body model
    colour: tuple[float, float, float]
    description: str = ""
    radio: str = ""                    # what the radio is (text)
    sensors: str = ""                  # what the obstacle sensor is (text)
    sources: tuple[tuple[str, str], ...] = ()


def _known_keys_first(sec: Section, keys) -> None:
    """A misspelt key is reported as unknown, not as the key it was meant to be being missing."""
    unknown = [k for k in sec.keys() if k not in keys]
    if unknown:
        raise sec.error(unknown[0], "unknown key", "keys " + ", ".join(sorted(keys)))


def _read_airframe(top: Section) -> Airframe | None:
    if not top.has("airframe"):
        return None
    sec = top.section("airframe")
    _known_keys_first(sec, [f.name for f in fields(Airframe)])
    values = {}
    for f in fields(Airframe):
        if f.name == "inertia":
            values["inertia"] = sec.get("inertia", Vector(3, POSITIVE))
        elif f.name in _AIRFRAME_OPTIONAL:
            values[f.name] = sec.get(f.name, POSITIVE, f.default)
        else:
            values[f.name] = sec.get(f.name, POSITIVE)
    sec.finish()
    return Airframe(**values)


def read_platform(path: str | Path) -> Platform:
    """Read and validate one platform file; its name is the file name without .yaml."""
    path = Path(path)
    top = load_yaml(path, "platform file")
    description = top.get("description", Text(), "")
    autopilot = top.get("autopilot", Autopilot())
    colour = top.get("colour", Vector(3, Number(0, 1)))
    figures, kinds = {}, {}
    for section in ("body", "limits", "radio", "sensors"):
        sec = top.section(section)
        _known_keys_first(sec, [k for s, k in _FIGURES if s == section] + (["kind"] if section in ("radio", "sensors") else []))
        for (s, key), field in _FIGURES.items():
            if s == section:
                figures[field] = sec.get(key, FIELD_CHECKS[field])
        if section in ("radio", "sensors"):
            kinds[section] = sec.get("kind", Text(), "")
        sec.finish()
    airframe = _read_airframe(top)
    src = top.section("sources", required=False)
    sources = tuple((k, src.get(k, Text())) for k in src.keys())
    src.finish()
    top.finish()
    return Platform(path.stem, str(path.resolve()), autopilot, VehicleParams(**figures), airframe, colour,
                    description, kinds["radio"], kinds["sensors"], sources)


def builtin_dir() -> Path:
    return share_dir() / "config" / FOLDER


@lru_cache(maxsize=None)
def _plugin_dirs() -> tuple[tuple[str, Path], ...]:
    """(entry point, folder) of each installed package that contributes platform files."""
    out = []
    for name, ep in sorted(installed(GROUP).items()):
        target = ep.value
        try:
            obj = import_path(target)
        except Exception as err:
            raise ConfigError(f"entry point {name} = {target}", "", f"group {GROUP}: cannot load it: {err}",
                              "a package or module whose folder holds platform files") from None
        folder = Path(obj) if isinstance(obj, (str, Path)) else Path(getattr(obj, "__file__", "") or ".").parent
        if not folder.is_dir():
            raise ConfigError(f"entry point {name} = {target}", "", f"group {GROUP}: {folder} is not a folder",
                              "a package or module whose folder holds platform files")
        out.append((name, folder))
    return tuple(out)


def _yaml_files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def platform_files(local_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """name -> file of every platform available: built-ins first, then plugins, then local folders
    (those of a fleet or mission), the later ones overriding by name as described above."""
    out = _yaml_files(builtin_dir())
    for _name, folder in _plugin_dirs():
        for name, path in _yaml_files(folder).items():
            if name in out:
                raise ConfigError(path, "", f"platform {name!r} is also defined by {out[name]}",
                                  f"a platform name not used by another installed package or {builtin_dir()}")
            out[name] = path
    for folder in reversed([Path(d) for d in local_dirs]):     # the first local folder wins
        out.update(_yaml_files(folder))
    return out


def local_dirs(*config_files: str | Path) -> list[Path]:
    """The `platforms/` folders beside the given fleet / mission files, without repeats."""
    out = []
    for f in config_files:
        d = Path(f).resolve().parent / FOLDER
        if d not in out and d != builtin_dir().resolve():
            out.append(d)
    return out


def find_platform(name: str, local: Iterable[Path] = ()) -> Platform:
    files = platform_files(local)
    if name not in files:
        raise KeyError(name)
    path = files[name]
    return _read_cached(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _read_cached(path: str, _mtime: int) -> Platform:
    return read_platform(path)


class _Profiles(Mapping):
    """name -> VehicleParams of the installed platforms (built-in and plugins), read when first used."""

    def __getitem__(self, name: str) -> VehicleParams:
        return find_platform(name).vehicle

    def __iter__(self):
        return iter(platform_files())

    def __len__(self) -> int:
        return len(platform_files())


PLATFORMS: Mapping[str, VehicleParams] = _Profiles()
