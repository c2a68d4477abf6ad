"""Plots of time-averaged swarm fields (speed with arrows, density, pressure) over the channel."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .channel import Channel
from .fisc_fields import SwarmFields


def plot_fields(fields: SwarmFields, channel: Channel, path: str | Path, title: str = "") -> Path:
    """Write a three-panel PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("speed (m/s)", fields.speed, "viridis"),
              ("kernel density rho (agents/m^%d)" % channel.dim, fields.mean["rho"], "magma"),
              ("pressure P", fields.mean["P"], "coolwarm")]
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    xs = np.linspace(0.0, channel.length, 200)
    for ax, (label, data, cmap) in zip(axes, panels):
        mesh = ax.pcolormesh(fields.x, fields.y, data.T, cmap=cmap, shading="nearest")
        fig.colorbar(mesh, ax=ax, label=label)
        half = 0.5 * channel.width(xs)
        ax.plot(xs, half, "k-", xs, -half, "k-", lw=1.5)
        ax.set_aspect("equal")
        ax.set_ylabel("y (m)")
    step = max(1, len(fields.x) // 40)
    gx, gy = np.meshgrid(fields.x[::step], fields.y[::step], indexing="ij")
    axes[0].quiver(gx, gy, fields.mean["ux"][::step, ::step], fields.mean["uy"][::step, ::step],
                   color="w", scale=20)
    axes[-1].set_xlabel("x (m)")
    fig.suptitle(title or f"FISC-like swarm fields, time average over {fields.steps} steps")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
