"""Mission objectives for CAO drone missions: what the cost evaluator measures each iteration.

Both follow the testbed contract (cao_testbed.Testbed) over the decisions of the drones
present, so drones can join and leave. The drones never see these formulas: each only
receives its own contribution Delta_i and the team cost J.

- `Surveillance`: camera drones watch an uneven terrain (3-D decisions). A terrain point is
  seen when it lies in some drone's downward camera cone (full angle `fov` of that drone's
  role) with a clear line of sight over the hills. J = 10 * mean over terrain points of
  unseen_weight * [not seen] + min(1, distance to the nearest drone / distance_scale):
  maximise what is seen while keeping every point close to a drone (image resolution); an
  optional focus disk weighs its points more (the mean weight stays 1). After
  the 3-D surveillance mission of Kapoutsis et al. (whose exact camera model is not published).
- `PersistentCoverage`: each cell of the free area (outside obstacles) has a coverage level
  that decays every iteration and grows under drones' sensor footprints (radius per role).
  J = mean over cells of max(0, target - level)^2. Applying the cost advances the levels;
  what-if evaluations do not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from swarm_ros.core.configfile import ListOf, Number, Section, Vector
from .cao_testbed import Testbed

POSITIVE = Number(0, lo_open=True)


def _per_role(sec: Section, key: str, roles, check) -> dict:
    """A mapping role -> value; every CAO role of the mission needs one."""
    sub = sec.section(key)
    out = {role: sub.get(role, check) for role in roles}
    sub.finish()
    return out


MAX_GRID_CELLS = 250_000    # cells of an objective's ground grid (each is scored every iteration)


def grid_cells(world, resolution: float) -> int:
    """How many cells `_area_grid` makes: checked before allocating (a tiny resolution would
    otherwise ask for gigabytes)."""
    extent = np.asarray(world.bounds_max[:2], float) - np.asarray(world.bounds_min[:2], float)
    return int(np.prod(np.maximum(np.ceil(extent / resolution), 1.0)))


def _area_grid(world, resolution: float) -> np.ndarray:
    if grid_cells(world, resolution) > MAX_GRID_CELLS:
        raise ValueError(f"a {resolution:g} m grid over world {world.name!r} has {grid_cells(world, resolution)} "
                         f"cells (at most {MAX_GRID_CELLS})")
    lo, hi = world.bounds_min[:2], world.bounds_max[:2]
    xs = np.arange(lo[0] + resolution / 2, hi[0], resolution)
    ys = np.arange(lo[1] + resolution / 2, hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


class MissionObjective(Testbed):
    """A Testbed bound to a mission: rows of x are the drones named by `team(roles)`.

    The base of CAO objectives, found by name in the `swarm_ros.objectives` entry-point group
    (or by `module:Class`): a subclass sets `d` (2 or 3) and `Params` (with `read(section,
    roles)`), takes (params, world), and implements the testbed's cost and what-ifs.
    """

    def __init__(self, params, world):
        self.p, self.world = params, world
        self.roles: list[str] = []

    floor = 0.0        # lowest decision altitude allowed (terrain)

    def team(self, roles) -> None:
        """Roles of the drones whose decisions are the rows of x in the next calls."""
        self.roles = list(roles)

    def changed(self, params) -> "MissionObjective":
        """The objective with new parameters (a time-varying mission); state carries over."""
        return type(self)(params, self.world)


# --- surveillance -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurveillanceParams:
    fov: dict                       # role -> full camera angle (rad)
    hills: tuple = ()               # (x, y, height, radius) Gaussian hills on flat ground
    resolution: float = 1.0         # m between terrain points
    unseen_weight: float = 1.0
    distance_scale: float = 10.0    # m
    sight_samples: int = 8          # points tested along each line of sight
    focus: tuple | None = None      # (x, y, radius, weight): points in this disk count `weight` times

    @classmethod
    def read(cls, sec: Section, roles) -> "SurveillanceParams":
        d = cls(fov={})
        fov = _per_role(sec, "fov", roles, Number(1, 170))
        hills = sec.get("hills", ListOf(Vector(4)), [])
        for k, h in enumerate(hills):
            if h[2] < 0 or h[3] <= 0:
                raise sec.error(f"hills[{k}]", f"got {list(h)}", "[x, y, height >= 0, radius > 0]")
        out = cls({r: np.radians(v) for r, v in fov.items()}, tuple(hills),
                  sec.get("resolution", POSITIVE, d.resolution), sec.get("unseen_weight", Number(0), d.unseen_weight),
                  sec.get("distance_scale", POSITIVE, d.distance_scale),
                  sec.get("sight_samples", Number(1, 64, integer=True), d.sight_samples),
                  sec.get("focus", Vector(4, Number(0)), None))
        sec.finish()
        return out


class Surveillance(MissionObjective):
    d = 3
    Params = SurveillanceParams

    def __init__(self, params: SurveillanceParams, world):
        super().__init__(params, world)
        xy = _area_grid(world, params.resolution)
        self.points = np.column_stack([xy, self.height(xy)])
        peaks = self.height(np.array([h[:2] for h in params.hills], float).reshape(-1, 2))
        self.floor = float(max(self.points[:, 2].max(), peaks.max(initial=0.0))) + 0.5 if params.hills else 0.0
        self.weight = np.ones(len(xy))
        if params.focus:
            x, y, radius, weight = params.focus
            self.weight[np.hypot(xy[:, 0] - x, xy[:, 1] - y) <= radius] = weight
        self.weight /= self.weight.mean()
        self.lo, self.hi = tuple(world.bounds_min), tuple(world.bounds_max)

    def height(self, xy: np.ndarray) -> np.ndarray:
        """Terrain height at points (..., 2)."""
        h = np.zeros(xy.shape[:-1])
        for x, y, height, radius in self.p.hills:
            h += height * np.exp(-((xy[..., 0] - x) ** 2 + (xy[..., 1] - y) ** 2) / (2 * radius**2))
        return h

    def seen(self, x: np.ndarray) -> np.ndarray:
        """(Q,) bool: terrain points some drone's camera sees."""
        q = self.points
        half = np.tan(np.array([self.p.fov[r] for r in self.roles]) / 2)
        above = x[None, :, 2] - q[:, None, 2]                                        # (Q, N)
        horiz = np.hypot(q[:, None, 0] - x[None, :, 0], q[:, None, 1] - x[None, :, 1])
        qi, di = np.nonzero((above > 0) & (horiz <= above * half))
        if len(qi) and self.p.hills:
            f = (np.arange(1, self.p.sight_samples + 1) / (self.p.sight_samples + 1))[None, :, None]
            ray = q[qi, None] + f * (x[di, None] - q[qi, None])                      # (K, S, 3)
            clear = (ray[..., 2] >= self.height(ray[..., :2])).all(axis=1)
            qi = qi[clear]
        out = np.zeros(len(q), dtype=bool)
        out[qi] = True
        return out

    def what_if(self, x: np.ndarray) -> float:
        dist, _ = cKDTree(x).query(self.points)
        closeness = np.minimum(dist / self.p.distance_scale, 1.0)
        return 10.0 * float(np.mean(self.weight * (self.p.unseen_weight * ~self.seen(x) + closeness)))

    cost = what_if


# --- persistent coverage ------------------------------------------------------------------------

@dataclass(frozen=True)
class CoverageParams:
    footprint: dict                 # role -> sensor footprint radius (m)
    resolution: float = 1.0         # m between cell centres
    target: float = 100.0           # coverage level every cell should keep
    decay: float = 0.9              # level kept from one iteration to the next
    production: float = 40.0        # level added per iteration under a footprint

    @classmethod
    def read(cls, sec: Section, roles) -> "CoverageParams":
        d = cls(footprint={})
        out = cls(_per_role(sec, "footprint", roles, POSITIVE), sec.get("resolution", POSITIVE, d.resolution),
                  sec.get("target", POSITIVE, d.target), sec.get("decay", Number(0, 1, hi_open=True), d.decay),
                  sec.get("production", POSITIVE, d.production))
        sec.finish()
        return out


class PersistentCoverage(MissionObjective):
    d = 2
    Params = CoverageParams

    def __init__(self, params: CoverageParams, world, level: np.ndarray | None = None):
        super().__init__(params, world)
        xy = _area_grid(world, params.resolution)
        ground = np.column_stack([xy, np.full(len(xy), min(0.1, world.bounds_max[2] / 2))])
        free = world.clearance(ground) > 0 if world.n_obstacles else np.ones(len(xy), dtype=bool)
        self.cells = xy[free]
        self.tree = cKDTree(self.cells)
        self.level = np.zeros(len(self.cells)) if level is None else level
        self.lo, self.hi = tuple(world.bounds_min[:2]), tuple(world.bounds_max[:2])

    def _next_level(self, x: np.ndarray) -> np.ndarray:
        covered = np.zeros(len(self.cells))
        for k, r in enumerate(self.roles):
            covered[self.tree.query_ball_point(x[k], self.p.footprint[r])] = 1.0
        return self.p.decay * self.level + self.p.production * covered

    def what_if(self, x: np.ndarray) -> float:
        return float(np.mean(np.maximum(0.0, self.p.target - self._next_level(x)) ** 2))

    def cost(self, x: np.ndarray) -> float:
        self.level = self._next_level(x)
        return float(np.mean(np.maximum(0.0, self.p.target - self.level) ** 2))

    def changed(self, params) -> "PersistentCoverage":
        return PersistentCoverage(params, self.world, self.level if params.resolution == self.p.resolution else None)
