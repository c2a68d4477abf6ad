"""Sweep files: one study (missions x parameter axes x seeds), strictly validated like missions.

    name: loss_study
    mission: ../missions/rings.yaml          # or missions: [a, b] (then `mission` is an axis)
    axes:
      radio.loss: [0.0, 0.1, 0.3]            # a dotted path into the mission file, its values
      fleet.size: [4, 8]                     # a generated fleet of this many drones (see overrides.py)
      controller:                            # a named axis: each value sets several fields
        formation: {roles.ring.controller: formation}
        waypoint: {roles.ring.controller: waypoint, roles.ring.params: {...}}
    seeds: [1, 2, 3]                         # or a count: 3 means 0, 1, 2
    metrics: [collisions, min_separation, radio.delivered]   # dotted paths into summary.json;
                                             # analysis.<path>: into `swarm-ros analyze`'s metrics.json (backend ros)
    backend: headless                        # or ros (ROS 2 nodes in lockstep, a bag per run)
    retries: 2                               # more attempts for a task that failed or was killed

Paths starting with `fleet.` or `world.` change the mission's fleet or world file. Errors name
the sweep file and field on one line (ConfigError), before anything runs.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from ..core.configfile import Choice, ConfigError, Invalid, ListOf, Name, Number, Section, Text, load_yaml, show
from ..core.resources import share_dir

BACKENDS = ("headless", "ros")
DEFAULT_METRICS = ("collisions", "geofence_violations", "min_separation")
ANALYSIS = "analysis."          # metric prefix: read from the analysis of the run's bag
PATH_ALLOWED = "a dotted path of keys into the mission (fleet.<...>, world.<...> for those files), e.g. radio.loss"


@dataclass(frozen=True)
class Axis:
    name: str                   # the dotted path, or the label of a named axis
    labels: tuple               # the values as the table shows them
    overrides: tuple            # per value: {dotted path: value}


@dataclass(frozen=True)
class Sweep:
    name: str
    file: str
    missions: tuple             # resolved mission paths
    axes: tuple                 # Axis, the mission axis first when there are several missions
    seeds: tuple
    metrics: tuple              # dotted paths (summary) or analysis.<path>
    backend: str
    retries: int
    fleet_spacing: float

    def settings(self) -> list[dict]:
        """Every combination: {"params": {axis: label}, "overrides": {path: value}}, grid order."""
        out = []
        for combo in itertools.product(*(range(len(a.labels)) for a in self.axes)):
            params, overrides = {}, {}
            for axis, k in zip(self.axes, combo):
                params[axis.name] = axis.labels[k]
                overrides.update(axis.overrides[k])
            out.append({"params": params, "overrides": overrides})
        return out

    def tasks(self) -> list[dict]:
        """Settings x seeds, each with a stable id (the same setting and seed keep their run folder
        when the sweep file grows, so a re-run resumes)."""
        return [{**s, "seed": seed, "id": f"{setting_id(s)}_seed{seed}", "setting": setting_id(s)}
                for s in self.settings() for seed in self.seeds]


def setting_id(setting: dict) -> str:
    text = json.dumps({"params": setting["params"], "overrides": setting["overrides"]}, sort_keys=True, default=str)
    return "s" + hashlib.sha1(text.encode()).hexdigest()[:10]


def _dotted(sec: Section, key: str) -> str:
    parts = key.split(".")
    if not all(parts) or any(not isinstance(p, str) or p.strip() != p for p in parts):
        raise sec.error(key, f"bad path {key!r}", PATH_ALLOWED)
    if parts[0] == "seed":
        raise sec.error(key, "the seed is not an axis", "seeds: [..] at the top level")
    if parts[0] == "fleet" and len(parts) > 1 and parts[1] == "size" and len(parts) > 2:
        raise sec.error(key, f"bad path {key!r}", "fleet.size: a list of drone counts")
    return key


FLEET_SIZE = Number(1, 10_000, integer=True)


def _any(value):
    return value


def _scalar_label(value) -> object:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return show(value)


def _read_axes(top: Section, missions: list[Path]) -> list[Axis]:
    axes = []
    if len(missions) > 1:
        labels = [m.stem for m in missions]
        if len(set(labels)) != len(labels):
            raise top.error("missions", "two missions have the same file name", "missions with distinct file names")
        axes.append(Axis("mission", tuple(labels), tuple({"@mission": str(m)} for m in missions)))
    sec = top.section("axes", required=False)
    for key in sec.keys():
        value = sec.data[key]
        sec.used.add(key)
        if isinstance(value, list):
            path = _dotted(sec, key)
            if not value:
                raise sec.error(key, "no values", "a list of at least one value")
            if path == "fleet.size":
                try:
                    ListOf(Number(1, 10_000, integer=True), min_len=1, unique=True)(value)
                except Invalid:
                    raise sec.error(key, f"got {show(value)}", "a list of drone counts 1-10000, no repeats") from None
            labels = [_scalar_label(v) for v in value]
            if len(set(map(repr, labels))) != len(labels):
                raise sec.error(key, f"{show(value)} has repeats", "distinct values")
            axes.append(Axis(path, tuple(labels), tuple({path: v} for v in value)))
        elif isinstance(value, dict):
            if not Name.pattern.match(key) or key == "mission":
                raise sec.error(key, f"bad axis name {key!r}", Name.allowed + " (not mission) for a named axis, "
                                "or a dotted path with a list of values")
            asec = sec.section(key)
            labels, overrides = [], []
            for label in asec.keys():
                vsec = asec.section(label)
                overrides.append({_dotted(vsec, p): vsec.get(p, FLEET_SIZE if p == "fleet.size" else _any)
                                  for p in vsec.keys()})
                labels.append(label)
            if not labels:
                raise asec.error(None, "no values", "a mapping of value labels to {dotted path: value}")
            axes.append(Axis(key, tuple(labels), tuple(overrides)))
        else:
            raise sec.error(key, f"got {show(value)}", f"a list of values for a dotted path ({PATH_ALLOWED}), or "
                            "a mapping label -> {path: value} for a named axis")
    sec.finish()
    for a in axes:
        own = {p for o in a.overrides for p in o}
        for b in axes:
            if b is not a and own & {p for o in b.overrides for p in o}:
                both = sorted(own & {p for o in b.overrides for p in o})[0]
                raise sec.error(b.name, f"sets {both}, which axis {a.name} sets too", "each path on one axis only")
    return axes


def _read_seeds(top: Section) -> tuple:
    if isinstance(top.data.get("seeds"), int) and not isinstance(top.data.get("seeds"), bool):
        count = top.get("seeds", Number(1, 100_000, integer=True))
        return tuple(range(count))
    seeds = top.get("seeds", ListOf(Number(0, 2**31 - 1, integer=True), min_len=1, unique=True), [0])
    return tuple(seeds)


def _read_metrics(top: Section, backend: str) -> tuple:
    names = top.get("metrics", ListOf(Text(), min_len=1, unique=True), list(DEFAULT_METRICS))
    for k, m in enumerate(names):
        parts = m.split(".")
        if not all(parts) or m.strip() != m:
            raise top.error(f"metrics[{k}]", f"bad metric {m!r}", "a dotted path into summary.json (e.g. "
                            "radio.delivered) or analysis.<path> into the analysis' metrics.json")
        if m.startswith(ANALYSIS) and backend != "ros":
            raise top.error(f"metrics[{k}]", f"{m!r} comes from the analysis of a recorded bag, and backend "
                            f"{backend} records none", "summary paths only, or backend: ros")
    return tuple(names)


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (its missions are validated per setting by `materialize`)."""
    top = load_yaml(path, "sweep file")
    name = top.get("name", Name())
    top.get("description", Text(), "")
    from .overrides import find_mission_file
    if top.has("mission") and top.has("missions"):
        raise top.error("missions", "both mission and missions given", "one of them")
    if top.has("missions"):
        given = top.get("missions", ListOf(Text(), min_len=1, unique=True))
        missions = [find_mission_file(top, f"missions[{k}]", m) for k, m in enumerate(given)]
    else:
        missions = [find_mission_file(top, "mission", top.get("mission", Text()))]
    axes = _read_axes(top, missions)
    seeds = _read_seeds(top)
    backend = top.get("backend", Choice(BACKENDS), "headless")
    metrics = _read_metrics(top, backend)
    retries = top.get("retries", Number(0, 10, integer=True), 2)
    spacing = top.get("fleet_spacing", Number(0.2, 100), 1.0)
    top.finish()
    return Sweep(name, str(Path(path).resolve()), tuple(missions), tuple(axes), seeds, metrics, backend, retries,
                 spacing)


def installed_sweeps() -> Path:
    return share_dir() / "config" / "sweeps"


__all__ = ["Axis", "Sweep", "load_sweep", "setting_id", "ConfigError", "BACKENDS", "ANALYSIS"]
