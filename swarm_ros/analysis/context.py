"""What the bag alone does not say: the world (geofence, obstacles), body radii and radio ranges.

Sources, most specific first: a `--world FILE` given by the user (it wins over the mission's
world, the user asked for it); the mission file given with `--mission`, else the one named in
our bag metadata if it lies under the bag's folder or the current folder and still loads
(fleet overrides of body radius and radio range included); the platform profile named per drone
in the metadata. Whatever stays unknown is reported as unavailable, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from swarm_ros.core.configfile import ConfigError, show
from swarm_ros.core.platforms import PLATFORMS

from .bag import META, BagError, Recording


@dataclass
class Context:
    world: object | None = None            # sim.world.World
    world_source: str = ""
    radius: np.ndarray | None = None       # (N,) body radii in drone order, or None when unknown
    radius_source: str = ""
    radio_range: np.ndarray | None = None  # (N,) effective per-drone radio range (mission cap applied)
    mission: object | None = None
    coverage_mission: bool = False
    notes: list = field(default_factory=list)
    names: list = field(default_factory=list)   # the drones the per-drone arrays describe, in order

    def keep(self, names: list) -> None:
        """Narrow the per-drone arrays to `names` (those with usable odometry), noting the others."""
        left_out = [n for n in self.names if n not in names]
        if left_out:
            self.notes.append(f"no usable odometry from {', '.join(left_out)}: left out of every figure")
        index = [self.names.index(n) for n in names]
        if self.radius is not None:
            self.radius = self.radius[index]
        if self.radio_range is not None:
            self.radio_range = self.radio_range[index]
        self.names = list(names)


def _trusted(file: str, bag: str) -> bool:
    """A mission file named in bag metadata is loaded only from under the folder holding the bag
    or the current folder: a foreign bag must not make `analyze` read (and quote) any local file."""
    try:
        target = Path(file).resolve()
        roots = [Path(bag).resolve().parent, Path.cwd().resolve()]
    except (OSError, RuntimeError, ValueError):
        return False
    return any(target.is_relative_to(root) for root in roots)


def _load_mission(rec: Recording, ctx: Context, mission_file: str | None = None):
    file = mission_file or rec.custom.get(META + "mission_file")
    if not file:
        return None
    if mission_file is None and not _trusted(file, rec.path):
        ctx.notes.append(f"mission file {show(file)} named in the bag lies outside the bag's folder and the "
                         "current folder: not read (pass --mission FILE to use it)")
        return None
    from swarm_ros.mission import load_mission   # only when needed: it pulls the controllers in
    try:
        return load_mission(file)
    except (ConfigError, OSError) as err:
        if mission_file is not None:
            raise BagError(f"--mission: {err}") from None
        ctx.notes.append(f"mission file {file} named in the bag does not load ({err}); "
                         "its world and fleet figures are not used")
        return None


def build_context(rec: Recording, world_file: str | None = None, mission_file: str | None = None) -> Context:
    ctx = Context(names=list(rec.drones))
    mission = _load_mission(rec, ctx, mission_file)
    names = rec.drones
    if world_file:
        from sim.world import load_world
        try:
            ctx.world = load_world(world_file)
        except ConfigError as err:
            raise BagError(f"--world: {err}") from None
        ctx.world_source = f"--world {world_file}"
    if mission is not None:
        ctx.mission = mission
        ctx.coverage_mission = any("coverage" in (r.controller, r.name) for r in mission.roles.values())
        if ctx.world is None:
            ctx.world, ctx.world_source = mission.world, f"mission file {mission.file}"
        by_name = {d.name: d.vehicle for d in mission.fleet.drones}
        if all(n in by_name for n in names):
            ctx.radius = np.array([by_name[n].body_radius for n in names])
            ctx.radius_source = f"fleet of mission file {mission.file}"
            rng = np.array([by_name[n].radio_range for n in names])
            cap = mission.radio.range
            ctx.radio_range = np.minimum(rng, cap) if cap is not None else rng
    if ctx.radius is None:
        platforms = [(rec.info.get(n) or {}).get("platform") for n in names]
        if platforms and all(p in PLATFORMS for p in platforms):
            ctx.radius = np.array([PLATFORMS[p].body_radius for p in platforms])
            ctx.radius_source = "platform profiles named in the bag (fleet overrides unknown)"
    if ctx.world is None:
        ctx.notes.append("world unknown (no readable mission file in the bag metadata and no --world): "
                         "geofence, obstacle collisions and coverage are unavailable")
    if ctx.radius is None:
        ctx.notes.append("body radii unknown: drone-drone collisions are unavailable and near misses "
                         "use centre distance")
    return ctx
