"""The planning service of a mission: a drone's request in, a timed GMT* path out (ROS-free).

A drone asks for a path from where it is to its goal; the service plans it with GMT* on the
roadmap of the drone's planning box and the drone's map inflated for its vehicle, and times it
with that vehicle's speed limits. The service keeps no state about the world beyond the static
map (the world's obstacles without `appear_at`): obstacles a drone has sensed since come in
its request, so each drone's plan reflects what that drone knows, and the service can be
restarted or replicated freely. Roadmaps are cached per (box, samples, seed) in the process,
obstacle sets per inflation.

Messages (numbers, so they map onto std_msgs/Float64MultiArray and nav_msgs/Path):
  request  [id, start xyz, goal xyz, k, k obstacle records of 7 numbers]; the id is the
           drone's mission time of the request (one request per control tick at most).
           A record is [0, center xyz, size xyz] for a box or [1, center xy, radius, z_min,
           z_max, 0] for a vertical cylinder.
  answer   [id, K, K rows of (mission time, x, y, z)]; K = 0: no path (the drone retries).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import gmt_jit
from .gmt import plan
from .obstacles import ObstacleSet
from .roadmap import geometric_roadmap
from .smoothing import shortcut

RECORD = 7
START_MARGINS = (1.0, 0.5, 0.0)   # fractions of the margin tried when the start sits in the inflation
START_FLOOR = 0.02                # m beyond the body radius, the least clearance ever planned with


@dataclass(frozen=True)
class PlanSpec:
    """How one drone plans: its vehicle, its planning box and the planner's settings."""
    vehicle: object               # VehicleParams
    lo: tuple                     # planning box (the geofence less a margin, the altitude band)
    hi: tuple
    samples: int = 2000
    lam: float = 0.5
    margin: float = 0.25          # m of clearance beyond the body radius
    speed: float = 1.0            # m/s cruise (the vehicle's limits apply too)
    seed: int = 0


def encode_request(rid: float, start, goal, shapes=()) -> np.ndarray:
    return np.r_[rid, np.asarray(start, float), np.asarray(goal, float), len(shapes),
                 np.asarray(shapes, float).reshape(-1)]


def decode_request(data: np.ndarray):
    """(id, start, goal, shapes (k, 7)); malformed requests raise ValueError."""
    data = np.asarray(data, float)
    if len(data) < 8 or not np.isfinite(data).all():
        raise ValueError(f"a plan request has at least 8 finite numbers, got {len(data)}")
    k = int(data[7])
    if k < 0 or len(data) != 8 + RECORD * k:
        raise ValueError(f"a plan request with {k} obstacles has {8 + RECORD * k} numbers, got {len(data)}")
    return float(data[0]), data[1:4], data[4:7], data[8:].reshape(k, RECORD)


def shape_record(obstacle) -> np.ndarray:
    """The request record of a world obstacle (sim.world Box or Cylinder)."""
    if hasattr(obstacle, "size"):
        return np.r_[0.0, obstacle.center, obstacle.size]
    return np.r_[1.0, obstacle.center, obstacle.radius, obstacle.z_min, obstacle.z_max, 0.0]


def encode_answer(rid: float, t, points) -> np.ndarray:
    return np.r_[rid, len(t), np.c_[np.asarray(t, float), np.asarray(points, float).reshape(-1, 3)].reshape(-1)]


def decode_answer(data: np.ndarray):
    """(id, times (K,), points (K, 3)); malformed answers raise ValueError."""
    data = np.asarray(data, float)
    if len(data) < 2 or not np.isfinite(data).all() or len(data) != 2 + 4 * int(data[1]):
        raise ValueError(f"a plan answer is [id, K, K x (t, x, y, z)], got {len(data)} numbers")
    rows = data[2:].reshape(-1, 4)
    return float(data[0]), rows[:, 0], rows[:, 1:]


def obstacle_set(lo, hi, records: np.ndarray, inflate: float) -> ObstacleSet:
    """Obstacles from request-style records (k, 7), grown by `inflate` on every side."""
    rec = np.asarray(records, float).reshape(-1, RECORD)
    boxes, cyls = rec[rec[:, 0] == 0], rec[rec[:, 0] == 1]
    c, h = boxes[:, 1:4], boxes[:, 4:7] / 2 + inflate
    return ObstacleSet(lo, hi, c - h, c + h, cyls[:, 1:3], cyls[:, 3] + inflate,
                       np.c_[cyls[:, 4] - inflate, cyls[:, 5] + inflate])


def segment_speeds(points: np.ndarray, vehicle, speed: float) -> np.ndarray:
    """Largest speed along each segment that keeps horizontal speed, climb and descent within
    the vehicle's limits (and the cruise speed)."""
    d = np.diff(points, axis=0)
    length = np.maximum(np.linalg.norm(d, axis=1), 1e-12)
    u = d / length[:, None]
    horiz = np.hypot(u[:, 0], u[:, 1])
    with np.errstate(divide="ignore"):
        lim = np.minimum(vehicle.max_speed / horiz, np.where(u[:, 2] > 0, vehicle.max_climb, vehicle.max_descent)
                         / np.abs(u[:, 2]))
    return np.minimum(lim, speed)


def timed(points: np.ndarray, vehicle, speed: float, t0: float) -> np.ndarray:
    """Mission times at the path's points, flying each segment at its allowed speed."""
    if len(points) < 2:
        return np.full(len(points), t0)
    length = np.linalg.norm(np.diff(points, axis=0), axis=1)
    return t0 + np.r_[0.0, np.cumsum(length / segment_speeds(points, vehicle, speed))]


class PlanningService:
    """Answers plan requests of the drones in `specs` (fleet index -> PlanSpec) in `world`."""

    def __init__(self, world, specs: dict):
        self.world, self.specs = world, dict(specs)
        self.map_records = np.array([shape_record(o) for o, m in zip(world.ordered, world.mapped) if m]
                                    ).reshape(-1, RECORD)
        self._maps: dict = {}
        self.log: list[dict] = []        # every answered request: drone, id, shapes, found, path, t, ms

    def roadmap(self, spec: PlanSpec):
        return geometric_roadmap(spec.lo, spec.hi, spec.samples, seed=spec.seed)

    def warm_up(self) -> float:
        """Build every drone's roadmap and compile the planner's kernels now (startup, not first
        request); seconds spent."""
        t0 = time.perf_counter()
        gmt_jit.warm_up()
        for spec in self.specs.values():
            self.roadmap(spec)
        return time.perf_counter() - t0

    def _map(self, inflate: float) -> ObstacleSet:
        key = round(inflate, 9)
        if key not in self._maps:
            self._maps[key] = obstacle_set(self.world.bounds_min, self.world.bounds_max, self.map_records, inflate)
        return self._maps[key]

    def obstacles(self, inflate: float, shapes: np.ndarray) -> ObstacleSet:
        """The static map plus the drone's sensed shapes, grown by `inflate`."""
        if not len(shapes):
            return self._map(inflate)
        return obstacle_set(self.world.bounds_min, self.world.bounds_max,
                            np.r_[self.map_records, shapes], inflate)

    def answer(self, drone: int, request: np.ndarray) -> np.ndarray:
        """The timed path for one request (see the module docstring for both layouts)."""
        rid, start, goal, shapes = decode_request(request)
        spec = self.specs[drone]
        t0 = time.perf_counter()
        rm = self.roadmap(spec)
        res, inflate = None, 0.0
        for frac in START_MARGINS:       # a drone pushed close to an obstacle still gets a path out
            inflate = spec.vehicle.body_radius + max(frac * spec.margin, START_FLOOR)
            obs = self.obstacles(inflate, shapes)
            res = plan(rm, obs, start, goal, lam=spec.lam, backend="numpy")
            if res.found or res.reason != "start inside an obstacle":
                break
        points = shortcut(res.path, obs) if res.found else np.zeros((0, 3))
        t = timed(points, spec.vehicle, spec.speed, rid)
        ms = 1e3 * (time.perf_counter() - t0)
        self.log.append({"drone": drone, "id": rid, "shapes": len(shapes), "found": res.found, "path": points, "t": t,
                         "cost": res.cost, "inflation": inflate, "ms": ms, "reason": res.reason})
        return encode_answer(rid, t, points)

    def summary(self) -> dict:
        """Figures of the run for the mission summary."""
        ms = np.array([e["ms"] for e in self.log])
        return {"requests": len(self.log), "failed": sum(not e["found"] for e in self.log),
                "with_sensed_obstacles": sum(e["shapes"] > 0 for e in self.log),
                "median_ms": float(np.median(ms)) if len(ms) else math.nan,
                "max_ms": float(ms.max()) if len(ms) else math.nan}
