"""What the live view draws: swarm arrays in, Foxglove scene messages and figure dicts out.

The headless runner's view and the ROS view node both feed this one class with positions and
velocities, so a mission looks the same either way. Radio links are worked out here from the
vehicles' radio ranges (the rule of sim/radio.py: in range when the distance is at most the
smaller of the two ranges), so the view needs no radio traffic. foxglove-sdk is imported when
the first message is built, never at module import.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from scipy.spatial import cKDTree

from sim.world import Box

TRAIL_S = 10.0          # s of flight each drone's trail shows
TRAIL_STEP = 0.2        # s of mission time between trail points (building a point costs about 1 us)
MIN_BODY = 0.15         # m: drones smaller than this are drawn at this size, or they vanish in a wide view
FENCE_RGB = (1.0, 0.2, 0.2)


def radio_pairs(positions: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(P, 2) index pairs i < j of drones in radio range of each other."""
    if len(positions) < 2:
        return np.empty((0, 2), dtype=np.intp)
    pairs = cKDTree(positions).query_pairs(float(ranges.max()), output_type="ndarray")
    if len(pairs) == 0:
        return pairs.reshape(0, 2)
    d = np.linalg.norm(positions[pairs[:, 0]] - positions[pairs[:, 1]], axis=1)
    return pairs[d <= np.minimum(ranges[pairs[:, 0]], ranges[pairs[:, 1]])]


def fence_edges(lo, hi) -> np.ndarray:
    """(24, 3): the 12 edges of the box lo..hi as point pairs."""
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])], float)
    return np.array([corners[k] for a in range(8) for b in range(a + 1, 8)
                     if np.count_nonzero(corners[a] != corners[b]) == 1 for k in (a, b)])


class SwarmScene:
    """A mission's drones, world, trails, planned paths and radio links as scene messages."""

    def __init__(self, mission, trail_s: float = TRAIL_S):
        drones = mission.fleet.drones
        self.names = [d.name for d in drones]
        self.labels = [f"{d.name} ({d.role})" for d in drones]
        self.types = [d.type for d in drones]
        self.colours = [tuple(float(c) for c in d.platform_spec.colour) if d.platform_spec else (0.8, 0.8, 0.8)
                        for d in drones]
        self.sizes = [max(2 * d.vehicle.body_radius, MIN_BODY) for d in drones]
        ranges = np.array([d.vehicle.radio_range for d in drones], float)
        cap = mission.radio.range
        self.ranges = np.minimum(ranges, cap) if cap is not None else ranges
        self.world, self.duration = mission.world, mission.duration
        self.trail: deque = deque(maxlen=max(2, int(trail_s / TRAIL_STEP) + 1))
        self.paths: dict[int, np.ndarray] = {}

    def set_path(self, drone: int, points) -> None:
        """The path planned for drone `drone` ((K, 3); empty: none)."""
        points = np.asarray(points, float).reshape(-1, 3)
        if len(points):
            self.paths[drone] = points
        else:
            self.paths.pop(drone, None)

    def drones(self, t: float, positions: np.ndarray):
        """A foxglove SceneUpdate of the drones at mission time t, with trails, paths and links."""
        from foxglove.messages import (LinePrimitive, LinePrimitiveLineType, SceneEntity, SceneUpdate,
                                       SpherePrimitive, TextPrimitive, Vector3)
        p = np.asarray(positions, float).reshape(len(self.names), 3)
        if not self.trail or t - self.trail[-1][0] >= TRAIL_STEP or t < self.trail[-1][0]:
            if self.trail and t < self.trail[-1][0]:
                self.trail.clear()          # time went back: a new run
            self.trail.append((t, p.copy()))
        trail = np.stack([q for _, q in self.trail], axis=1)       # (N, T, 3)
        entities = []
        for k, name in enumerate(self.names):
            s, rgb = self.sizes[k], self.colours[k]
            entities.append(SceneEntity(
                frame_id="world", id=f"drone/{name}",
                spheres=[SpherePrimitive(pose=_pose(p[k]), size=Vector3(x=s, y=s, z=0.4 * s), color=_colour(rgb))],
                texts=[TextPrimitive(pose=_pose(p[k] + (0.0, 0.0, s)), billboard=True, font_size=14.0,
                                     scale_invariant=True, color=_colour((1, 1, 1)), text=self.labels[k])],
                lines=[LinePrimitive(type=LinePrimitiveLineType.LineStrip, pose=_pose((0, 0, 0)), thickness=2.0,
                                     scale_invariant=True, points=_points(trail[k]), color=_colour(rgb, 0.6))]))
        paths = [LinePrimitive(type=LinePrimitiveLineType.LineStrip, pose=_pose((0, 0, 0)), thickness=3.0,
                               scale_invariant=True, points=_points(pts), color=_colour(self.colours[k], 0.35))
                 for k, pts in sorted(self.paths.items())]
        entities.append(SceneEntity(frame_id="world", id="paths", lines=paths))
        pairs = radio_pairs(p, self.ranges)
        links = [LinePrimitive(type=LinePrimitiveLineType.LineList, pose=_pose((0, 0, 0)), thickness=1.0,
                               scale_invariant=True, points=_points(p[pairs.reshape(-1)]),
                               color=_colour((0.3, 0.8, 1.0), 0.35))] if len(pairs) else []
        entities.append(SceneEntity(frame_id="world", id="radio", lines=links))
        return SceneUpdate(entities=entities)

    def world_update(self, t: float):
        """A foxglove SceneUpdate of the geofence and the obstacles at mission time t (obstacles
        still to appear drawn faint red)."""
        from foxglove.messages import (CubePrimitive, CylinderPrimitive, LinePrimitive, LinePrimitiveLineType,
                                       SceneEntity, SceneUpdate, Vector3)
        cubes, cylinders = [], []
        for o in self.world.obstacles:
            there = o.appear_at is None or o.appear_at <= t
            colour = _colour((0.5, 0.5, 0.5), 0.8) if there else _colour((1.0, 0.3, 0.3), 0.15)
            if isinstance(o, Box):
                cubes.append(CubePrimitive(pose=_pose(o.center), size=Vector3(x=o.size[0], y=o.size[1], z=o.size[2]),
                                           color=colour))
            else:
                mid = (o.center[0], o.center[1], 0.5 * (o.z_min + o.z_max))
                cylinders.append(CylinderPrimitive(pose=_pose(mid), bottom_scale=1.0, top_scale=1.0, color=colour,
                                                   size=Vector3(x=2 * o.radius, y=2 * o.radius, z=o.z_max - o.z_min)))
        fence = LinePrimitive(type=LinePrimitiveLineType.LineList, pose=_pose((0, 0, 0)), thickness=2.0,
                              scale_invariant=True, color=_colour(FENCE_RGB),
                              points=_points(fence_edges(self.world.bounds_min, self.world.bounds_max)))
        return SceneUpdate(entities=[
            SceneEntity(frame_id="world", id="obstacles", cubes=cubes, cylinders=cylinders),
            SceneEntity(frame_id="world", id="geofence", lines=[fence])])

    def telemetry(self, t: float, positions: np.ndarray, velocities: np.ndarray) -> dict:
        """Altitude and speed of every drone, and their spread, for plots."""
        p = np.asarray(positions, float).reshape(len(self.names), 3)
        speed = np.linalg.norm(np.asarray(velocities, float).reshape(len(self.names), 3), axis=1)
        out = {"t": float(t), "drones": [{"name": n, "type": ty, "altitude": float(z), "speed": float(v)}
                                         for n, ty, z, v in zip(self.names, self.types, p[:, 2], speed)]}
        for key, values in (("altitude", p[:, 2]), ("speed", speed)):
            out[key] = {"min": float(values.min()), "mean": float(values.mean()), "max": float(values.max())}
        out["radio_links"] = int(len(radio_pairs(p, self.ranges)))
        return out


def _pose(position):
    from foxglove.messages import Pose, Quaternion, Vector3
    x, y, z = (float(c) for c in position)
    return Pose(position=Vector3(x=x, y=y, z=z), orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0))


def _colour(rgb, alpha: float = 1.0):
    from foxglove.messages import Color
    return Color(r=float(rgb[0]), g=float(rgb[1]), b=float(rgb[2]), a=float(alpha))


def _points(array: np.ndarray) -> list:
    from foxglove.messages import Point3
    return [Point3(x=x, y=y, z=z) for x, y, z in np.asarray(array, float).reshape(-1, 3).tolist()]
