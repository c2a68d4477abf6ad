"""A converging-diverging channel (a nozzle) for fluid-like swarm flows, 2-D or 3-D extruded.

The channel runs along +x from a closed back wall at x = 0 (the inlet plenum) to an open exit
at x = length. Its width is piecewise linear: constant inlet, linear contraction, constant
throat, linear expansion, constant outlet; the side walls are symmetric about y = 0. The 3-D
channel is the 2-D one extruded over 0 <= z <= height (floor and ceiling are walls). The walls
are what an agent senses (distance and inward normal to each wall); the map itself (x of the
inlet and outlet zones) is known to every agent, like a world file.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from swarm_ros.core.compiled import backend_name


@dataclass(frozen=True)
class Channel:
    inlet_width: float = 8.0
    throat_width: float = 4.0
    outlet_width: float = 8.0
    inlet_length: float = 6.0
    converge_length: float = 5.0
    throat_length: float = 3.0
    diverge_length: float = 6.0
    outlet_length: float = 6.0
    height: float | None = None     # None: a 2-D channel (agents in the plane); else 3-D extruded
    inlet_zone: float = 2.0         # x < inlet_zone: the inlet pressure is imposed
    outlet_zone: float = 2.0        # x > length - outlet_zone: the outlet pressure is imposed

    def __post_init__(self):
        for name in ("inlet_width", "throat_width", "outlet_width", "inlet_length", "converge_length",
                     "throat_length", "diverge_length", "outlet_length", "inlet_zone", "outlet_zone"):
            if not getattr(self, name) > 0:
                raise ValueError(f"channel {name} must be > 0, got {getattr(self, name)!r}")
        if self.height is not None and not self.height > 0:
            raise ValueError(f"channel height must be > 0 or None (2-D), got {self.height!r}")
        for zone, part in (("inlet_zone", "inlet_length"), ("outlet_zone", "outlet_length")):
            if getattr(self, zone) > getattr(self, part):
                raise ValueError(f"channel {zone} must be <= {part} ({getattr(self, part)!r}), "
                                 f"got {getattr(self, zone)!r}")

    def scaled_to(self, agents: int, spacing: float) -> "Channel":
        """This channel scaled in the plane (height kept) so that a rest-density fill, one agent
        per spacing^dim, holds about `agents`."""
        per_area = spacing ** -self.dim * (1.0 if self.height is None else self.height)
        k = float(np.sqrt(agents / (self.volume() * per_area)))
        sizes = ("inlet_width", "throat_width", "outlet_width", "inlet_length", "converge_length", "throat_length",
                 "diverge_length", "outlet_length", "inlet_zone", "outlet_zone")
        return replace(self, **{f: getattr(self, f) * k for f in sizes})

    @property
    def dim(self) -> int:
        return 2 if self.height is None else 3

    @cached_property
    def stations(self) -> np.ndarray:
        """x of the six width breakpoints: start, converge, throat start/end, diverge end, exit."""
        return np.cumsum([0.0, self.inlet_length, self.converge_length, self.throat_length,
                          self.diverge_length, self.outlet_length])

    @cached_property
    def length(self) -> float:
        return float(self.stations[-1])

    @property
    def throat_x(self) -> float:
        """x of the middle of the throat."""
        s = self.stations
        return float(0.5 * (s[2] + s[3]))

    def half_widths(self) -> np.ndarray:
        return self._half_widths

    @cached_property
    def _half_widths(self) -> np.ndarray:
        w = [self.inlet_width, self.inlet_width, self.throat_width, self.throat_width,
             self.outlet_width, self.outlet_width]
        return 0.5 * np.asarray(w, float)

    @cached_property
    def _segments(self):
        """Side-wall segments (upper wall): start x, start y, extent x, extent y, 1/|extent|^2."""
        ex, ey = np.diff(self.stations), np.diff(self._half_widths)
        return self.stations[:-1], self._half_widths[:-1], ex, ey, 1.0 / (ex * ex + ey * ey)

    def width(self, x) -> np.ndarray:
        return 2.0 * np.interp(x, self.stations, self.half_widths())

    def area(self, x) -> np.ndarray:
        """Cross-section at x: width (2-D, m) or width x height (3-D, m^2)."""
        return self.width(x) * (1.0 if self.height is None else self.height)

    def volume(self) -> float:
        """Area (2-D) or volume (3-D) of the whole channel."""
        xs, hw = self.stations, self.half_widths()
        return float(np.sum(np.diff(xs) * (hw[1:] + hw[:-1])) * (1.0 if self.height is None else self.height))

    def in_inlet_zone(self, x) -> np.ndarray:
        return np.asarray(x) < self.inlet_zone

    def in_outlet_zone(self, x) -> np.ndarray:
        return np.asarray(x) > self.length - self.outlet_zone

    @cached_property
    def _min_cos(self) -> float:
        slopes = np.diff(self.half_widths()) / np.diff(self.stations)
        return float(1.0 / np.sqrt(1.0 + np.max(slopes * slopes)))

    @property
    def n_walls(self) -> int:
        return 3 if self.height is None else 5

    def walls(self, p: np.ndarray, reach: float = np.inf, backend: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance to each wall (N, K), positive inside, and inward unit normals (N, K, dim).

        Walls: upper side (+y), lower side (-y), back wall (x = 0), then floor and ceiling in 3-D.
        A side wall's distance is to its nearest point on the polyline (exact for the corners).
        Side walls provably farther than `reach` are not resolved: their distance is then a lower
        bound (> reach) and their normal the plain -y/+y, which saves most of the work for
        callers that ignore walls beyond `reach`. `backend`: numpy (this code) or numba (its
        compiled twin, channel_jit.py); None as swarm_ros.control.fisc_jit.backend_name decides.
        """
        if backend_name(backend) == "numba":
            from .channel_jit import walls
            return walls(self, p, reach)
        p = np.asarray(p, float)
        n, dim = len(p), self.dim
        d = np.empty((n, self.n_walls))
        nrm = np.zeros((n, self.n_walls, dim))
        x, y = p[:, 0], p[:, 1]
        half = np.interp(x, self.stations, self._half_widths)
        # the gap along y to a side wall, times the cosine of the steepest wall segment, is at
        # most the true distance (for x within the channel's length)
        d[:, 0] = (half - y) * self._min_cos
        d[:, 1] = (half + y) * self._min_cos
        nrm[:, 0, 1], nrm[:, 1, 1] = -1.0, 1.0
        todo = d[:, :2] <= reach
        todo |= ((x < 0) | (x > self.length))[:, None]
        rows, side = np.nonzero(todo)                  # both side walls in one pass: (row, wall)
        sign = 1.0 - 2.0 * side
        dist, nx, ny = self._side_wall(x[rows], sign * y[rows])
        d[rows, side] = dist
        nrm[rows, side, 0] = nx
        nrm[rows, side, 1] = sign * ny
        d[:, 2] = p[:, 0]
        nrm[:, 2, 0] = 1.0
        if dim == 3:
            d[:, 3] = p[:, 2]
            nrm[:, 3, 2] = 1.0
            d[:, 4] = self.height - p[:, 2]
            nrm[:, 4, 2] = -1.0
        return d, nrm

    def _side_wall(self, x: np.ndarray, y: np.ndarray):
        """Distance from (x, y) to the upper wall polyline, + below it; inward normal (nx, ny)."""
        ax, ay, ex, ey, inv = self._segments
        # the wall is extended straight beyond both ends so agents near x = 0 or the exit see it
        t = ((x[:, None] - ax) * ex + (y[:, None] - ay) * ey) * inv
        t[:, 1:] = np.maximum(t[:, 1:], 0.0)
        t[:, :-1] = np.minimum(t[:, :-1], 1.0)
        qx, qy = ax + t * ex - x[:, None], ay + t * ey - y[:, None]
        dist2 = qx * qx + qy * qy
        k = np.argmin(dist2, axis=1)
        rows = np.arange(len(x))
        qx, qy, dist = qx[rows, k], qy[rows, k], np.sqrt(dist2[rows, k])
        inside = y < np.interp(x, self.stations, self._half_widths)
        sgn = np.where(inside, 1.0, -1.0)
        safe = np.maximum(dist, 1e-12)
        # the normal points from the wall to the agent when inside, i.e. minus (q - p)/|q - p|
        nx, ny = -sgn * qx / safe, -sgn * qy / safe
        on = dist < 1e-12
        if on.any():   # exactly on the wall: use the segment's own normal
            sx, sy = ex[k[on]], ey[k[on]]
            ln = np.hypot(sx, sy)
            nx[on], ny[on] = sy / ln, -sx / ln
        return sgn * dist, nx, ny

    def clearance(self, p: np.ndarray) -> np.ndarray:
        """Smallest signed distance to any wall (N,): negative means outside the channel."""
        return self.walls(p)[0].min(axis=1)

    def lattice(self, spacing: float, x_min: float = 0.0, x_max: float | None = None,
                margin: float | None = None) -> np.ndarray:
        """Points of a square (cubic) lattice with `spacing` inside the channel, `margin` from walls."""
        margin = 0.5 * spacing if margin is None else margin
        x_max = self.length if x_max is None else x_max
        xs = np.arange(x_min + margin, x_max - 1e-9, spacing)
        half = 0.5 * max(self.inlet_width, self.throat_width, self.outlet_width)
        ys = np.arange(-half + margin, half - margin + 1e-9, spacing)
        axes = [xs, ys] if self.dim == 2 else [xs, ys, np.arange(margin, self.height - margin + 1e-9, spacing)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        return pts[self.clearance(pts) >= margin - 1e-9]
