"""Swarm fields: agent samples binned into cells and time-averaged, as one would a CFD solution.

Each sample is one agent at one step: its position, velocity and its own estimates of density,
pressure and temperature (what it computed for its command). Cells are squares of side `cell`
over the channel's (x, y) plane; in 3-D they are columns over the full height (the fields are
averaged over z). Cell values are sample means; the number density is samples / (cell area or
volume x steps) and is given only for cells that lie wholly inside the channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .channel import Channel

_QUANTITIES = ("ux", "uy", "rho", "P", "T")


@dataclass
class SwarmFields:
    x: np.ndarray              # (nx,) cell centres
    y: np.ndarray              # (ny,)
    count: np.ndarray          # (nx, ny) samples per cell
    mean: dict                 # name -> (nx, ny) sample means, NaN where count < min_count
    number_density: np.ndarray  # (nx, ny) agents per m^2 (m^3 in 3-D), NaN at the walls
    steps: int

    @property
    def speed(self) -> np.ndarray:
        return np.hypot(self.mean["ux"], self.mean["uy"])

    def as_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "count": self.count, "steps": self.steps,
                "number_density": self.number_density, "speed": self.speed, **self.mean}


class FieldBinner:
    """Accumulates samples; pass `add` as the `sample` callback of FiscChannelSim.step."""

    def __init__(self, channel: Channel, cell: float = 0.5):
        self.channel, self.cell = channel, float(cell)
        half = 0.5 * max(channel.inlet_width, channel.throat_width, channel.outlet_width)
        self.nx = int(np.ceil(channel.length / cell))
        self.ny = int(np.ceil(2 * half / cell))
        self.y0 = -0.5 * self.ny * cell
        self.count = np.zeros(self.nx * self.ny)
        self.sums = {q: np.zeros(self.nx * self.ny) for q in _QUANTITIES}
        self.steps = 0

    def add(self, pos, vel, fields) -> None:
        ix = np.clip((pos[:, 0] / self.cell).astype(np.intp), 0, self.nx - 1)
        iy = np.clip(((pos[:, 1] - self.y0) / self.cell).astype(np.intp), 0, self.ny - 1)
        idx = ix * self.ny + iy
        size = self.nx * self.ny
        self.count += np.bincount(idx, minlength=size)
        for q, values in (("ux", vel[:, 0]), ("uy", vel[:, 1]), ("rho", fields.rho), ("P", fields.P),
                          ("T", fields.T)):
            self.sums[q] += np.bincount(idx, values, size)
        self.steps += 1

    def result(self, min_count: int = 20) -> SwarmFields:
        shape = (self.nx, self.ny)
        ok = self.count >= min_count
        mean = {}
        for q, s in self.sums.items():
            m = np.full(self.count.shape, np.nan)
            m[ok] = s[ok] / self.count[ok]
            mean[q] = m.reshape(shape)
        x = (np.arange(self.nx) + 0.5) * self.cell
        y = self.y0 + (np.arange(self.ny) + 0.5) * self.cell
        cx, cy = np.meshgrid(x, y, indexing="ij")
        centres = np.stack([cx.ravel(), cy.ravel()] + ([np.full(cx.size, 0.5 * self.channel.height)]
                                                      if self.channel.dim == 3 else []), axis=1)
        half_diag = self.cell / np.sqrt(2.0)
        clear = self.channel.walls(centres)[0][:, :2].min(axis=1)   # side walls only
        whole = (clear >= half_diag) & (centres[:, 0] >= 0) & (centres[:, 0] <= self.channel.length)
        size = self.cell ** 2 * (1.0 if self.channel.dim == 2 else self.channel.height)
        nd = np.where(whole, self.count / (size * max(self.steps, 1)), np.nan).reshape(shape)
        return SwarmFields(x, y, self.count.reshape(shape), mean, nd, self.steps)

    def profile(self) -> dict:
        """Slab averages along x (all cells of a column): x, mean axial speed, density, pressure."""
        c = self.count.reshape(self.nx, self.ny).sum(axis=1)
        safe = np.maximum(c, 1)
        out = {"x": (np.arange(self.nx) + 0.5) * self.cell, "count": c}
        for q in ("ux", "rho", "P"):
            out[q] = np.where(c > 0, self.sums[q].reshape(self.nx, self.ny).sum(axis=1) / safe, np.nan)
        return out
