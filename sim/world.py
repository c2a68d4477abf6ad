"""World files: the geofence (bounds) and box/cylinder obstacles, read strictly.

The same world object serves collision checks in the simulator, each drone's own obstacle
sensing (its map within its sensor range), and the Gazebo export.

An obstacle may carry `appear_at: t` (mission seconds): it is absent before t for the
simulator's collision checks and for sensing (queries given a time `t`), and it is not on the
map drones start with (`mapped`), so a drone learns of it only by sensing it. Queries without
a time (start and goal validation, static maps) see every obstacle: the conservative view.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swarm_ros.core.configfile import ConfigError, Name, Number, Section, Vector, load_yaml, Choice, show
from swarm_ros.core.geometry import sdf_and_gradient, sdf_box, sdf_vertical_cylinder
from swarm_ros.core.sensing import Sensing
from . import sense_jit

POSITIVE = Number(0, lo_open=True)
MAX_OBSTACLES = 5000    # every drone checks every obstacle each tick; shipped worlds have under 50


@dataclass(frozen=True)
class Box:
    name: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    appear_at: float | None = None     # mission time it appears at (None: there from the start)


@dataclass(frozen=True)
class Cylinder:
    """Vertical cylinder standing on z_min."""
    name: str
    center: tuple[float, float]
    radius: float
    z_min: float
    z_max: float
    appear_at: float | None = None


class World:
    def __init__(self, name: str, bounds_min, bounds_max, obstacles=(), file: str = ""):
        self.name, self.file = name, file
        self.bounds_min = np.asarray(bounds_min, float)
        self.bounds_max = np.asarray(bounds_max, float)
        self.obstacles = tuple(obstacles)
        boxes = [o for o in self.obstacles if isinstance(o, Box)]
        cyls = [o for o in self.obstacles if isinstance(o, Cylinder)]
        # Obstacle order in every per-obstacle array: boxes first, then cylinders.
        self.obstacle_names = [o.name for o in boxes + cyls]
        self._box_c = np.array([b.center for b in boxes], float).reshape(-1, 3)
        self._box_h = np.array([b.size for b in boxes], float).reshape(-1, 3) / 2
        self._cyl_c = np.array([c.center for c in cyls], float).reshape(-1, 2)
        self._cyl_r = np.array([c.radius for c in cyls], float)
        self._cyl_z = np.array([(c.z_min, c.z_max) for c in cyls], float).reshape(-1, 2)
        self.ordered = tuple(boxes + cyls)          # obstacles in the order of per-obstacle arrays
        self.appear_at = np.array([-np.inf if o.appear_at is None else o.appear_at for o in self.ordered], float)
        self.mapped = np.array([o.appear_at is None for o in self.ordered], dtype=bool)

    @property
    def n_obstacles(self) -> int:
        return len(self.obstacle_names)

    def present(self, t: float | None) -> np.ndarray:
        """Which obstacles exist at mission time t (all of them for t None)."""
        return np.ones(self.n_obstacles, dtype=bool) if t is None else self.appear_at <= t

    def obstacle_sdf(self, p: np.ndarray, t: float | None = None) -> np.ndarray:
        """Signed distance from points (N, 3) to every obstacle: (N, M); inf for obstacles
        not yet there at mission time t."""
        p = np.asarray(p, float)
        if self.n_obstacles and sense_jit.usable(len(p)) and p.ndim == 2:
            return sense_jit.obstacle_sdf(p, self._box_c, self._box_h, self._cyl_c, self._cyl_r, self._cyl_z,
                                          self.present(t))
        out = np.empty((p.shape[0], self.n_obstacles))
        nb = len(self._box_c)
        if nb:
            out[:, :nb] = sdf_box(p[:, None, :], self._box_c, self._box_h)
        if len(self._cyl_c):
            out[:, nb:] = sdf_vertical_cylinder(p[:, None, :], self._cyl_c, self._cyl_r,
                                                self._cyl_z[:, 0], self._cyl_z[:, 1])
        if t is not None:
            out[:, ~self.present(t)] = np.inf
        return out

    def clearance(self, p: np.ndarray, t: float | None = None) -> np.ndarray:
        """Distance from points (N, 3) to the nearest obstacle (inf without obstacles)."""
        d = self.obstacle_sdf(p, t)
        return d.min(axis=1) if d.shape[1] else np.full(len(p), np.inf)

    def path_clearance(self, path: np.ndarray, step: float) -> float:
        """Least distance to an obstacle at points every `step` along a polyline (K, 3) or, in the
        z = 0 plane, (K, 2); inf without obstacles. A dense check independent of any planner's."""
        path = np.asarray(path, float)
        if path.shape[1] == 2:
            path = np.c_[path, np.zeros(len(path))]
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        pts = [path[:1]] + [a + np.linspace(0, 1, k + 1)[1:, None] * (b - a) for a, b, k in
                            zip(path[:-1], path[1:], np.maximum(1, np.ceil(seg / step)).astype(int))]
        return float(self.clearance(np.concatenate(pts)).min())

    def fence_clearance(self, p: np.ndarray) -> np.ndarray:
        """Distance (N, 6) to each wall: x min, x max, y min, y max, z min, z max."""
        p = np.asarray(p, float)
        out = np.empty((len(p), 6))
        np.subtract(p, self.bounds_min, out=out[:, 0::2])
        np.subtract(self.bounds_max, p, out=out[:, 1::2])
        return out

    def inside_fence(self, p: np.ndarray) -> np.ndarray:
        return (self.fence_clearance(p) >= 0).all(axis=1)

    def sense(self, p: np.ndarray, sensing_range: np.ndarray, t: float | None = None) -> Sensing:
        """Each drone's view of obstacles within its own sensing range (those there at mission
        time t), plus the geofence."""
        p = np.asarray(p, float)
        if self.n_obstacles and sense_jit.usable(len(p)):
            clear, normal = sense_jit.sense(p, self._box_c, self._box_h, self._cyl_c, self._cyl_r, self._cyl_z,
                                            self.present(t), sensing_range)
            return Sensing(clear, normal, self.fence_clearance(p))
        if self.n_obstacles:
            with np.errstate(invalid="ignore"):          # inf - inf for obstacles not there yet
                clear, normal = sdf_and_gradient(lambda q: self.obstacle_sdf(q, t), p)
            normal[~np.isfinite(clear)] = 0.0
        else:
            clear, normal = np.zeros((len(p), 0)), np.zeros((len(p), 0, 3))
        far = clear > np.asarray(sensing_range, float).reshape(-1, 1)
        clear[far] = np.inf
        normal[far] = 0.0
        return Sensing(clear, normal, self.fence_clearance(p))


def load_world(path: str | Path) -> World:
    top = load_yaml(path, "world file")
    name = top.get("name", Name())
    bounds = top.section("bounds")
    lo = bounds.get("min", Vector(3))
    hi = bounds.get("max", Vector(3))
    bounds.finish()
    if not all(a < b for a, b in zip(lo, hi)):
        raise ConfigError(top.file, "bounds.max", f"got {list(hi)} with min {list(lo)}",
                          "each coordinate of max greater than the same coordinate of min")
    top.used.add("obstacles")
    items = top.data.get("obstacles")
    items = [] if items is None else items     # `obstacles:` left empty means none; `{}`, `0`, `""` are errors
    if not isinstance(items, list):
        raise top.error("obstacles", f"got {show(items)}", "a list of obstacles")
    if len(items) > MAX_OBSTACLES:
        raise top.error("obstacles", f"{len(items)} obstacles",
                        f"at most {MAX_OBSTACLES} (each drone checks every obstacle on every tick)")
    obstacles, seen = [], set()
    for k, item in enumerate(items):
        sec = Section(top.file, f"obstacles[{k}]", item)
        kind = sec.get("type", Choice(["box", "cylinder"]))
        oname = sec.get("name", Name(), default=f"{kind}_{k}")
        if oname in seen:
            raise sec.error("name", f"duplicate obstacle name {oname!r}", "names unique within the world")
        seen.add(oname)
        if kind == "box":
            obstacles.append(Box(oname, sec.get("center", Vector(3)), sec.get("size", Vector(3, POSITIVE)),
                                 sec.get("appear_at", POSITIVE, None)))
        else:
            z_min = sec.get("base", Number(), default=0.0)
            obstacles.append(Cylinder(oname, sec.get("center", Vector(2)), sec.get("radius", POSITIVE),
                                      z_min, z_min + sec.get("height", POSITIVE), sec.get("appear_at", POSITIVE, None)))
        sec.finish()
    top.finish()
    return World(name, lo, hi, obstacles, file=str(Path(path).resolve()))
