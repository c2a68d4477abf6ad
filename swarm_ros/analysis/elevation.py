"""The plots that show height, which the top view hides: altitude over time with the mission
phases shaded, and the trajectories seen in 3-D and from the side.

Drones are coloured by type (one colour per vehicle type, the same in every picture and in the
animation), so layers flown by different types read at a glance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .plots import DPI, _figure, _save, _thin

PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
Z_STRETCH = 2.0     # the 3-D view's vertical exaggeration: halls are far wider than they are high
PHASE_SHADE = {"take-off": "#dbe9f6", "landing": "#fbe3cf"}


def drone_colours(an) -> tuple[list[str], dict[str, str]]:
    """Colour of each drone (by type; by drone where the bag names no type) and {label: colour}."""
    types = {d["name"]: d["type"] for d in an.metrics["drones"]}
    keys = [types.get(n) or n for n in an.traj.names]
    legend = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(dict.fromkeys(keys))}
    counts = {k: keys.count(k) for k in legend}
    labelled = {(f"{k} ({counts[k]})" if counts[k] > 1 else k): c for k, c in legend.items()}
    return [legend[k] for k in keys], labelled


def _legend(ax, labelled: dict, **kw) -> None:
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=c, lw=2, label=label) for label, c in labelled.items()]
    ax.legend(handles=handles + kw.pop("extra", []), fontsize=8, **kw)


def shade_phases(ax, phases: dict | None, t_end: float) -> None:
    """Take-off and landing as shaded spans, each phase named along the top."""
    if not phases or not phases.get("available"):
        return
    a, b = phases["takeoff_end"], phases["task_end"]
    spans = [("take-off", min(0.0, a), a), ("task", a, b), ("landing", b, max(t_end, b))]
    for name, lo, hi in spans:
        lo, hi = max(lo, 0.0), min(hi, t_end)
        if hi <= lo:
            continue
        if name in PHASE_SHADE:
            ax.axvspan(lo, hi, color=PHASE_SHADE[name], zorder=0)
        ax.text((lo + hi) / 2, 0.98, name, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=8, color="0.3")


def altitude(an, path: Path) -> Path:
    tr = an.traj
    known = bool(an.phases and an.phases.get("available"))
    fig, ax = _figure("altitude" + ("" if known else " (phase times unknown)"), "t (s)", "z (m)")
    colours, labelled = drone_colours(an)
    t, z = _thin(tr.t, tr.pos[:, :, 2])
    for k in range(len(tr.names)):
        ax.plot(t, z[:, k], lw=1.1, color=colours[k])
    if len(t):
        shade_phases(ax, an.phases, float(tr.t[-1]))
        ax.set_xlim(0, max(float(tr.t[-1]), 1e-9))
    top = np.nanmax(z) if np.isfinite(z).any() else 1.0
    ax.set_ylim(min(0.0, np.nanmin(z)) if np.isfinite(z).any() else 0.0, top * 1.12 + 0.1)
    _legend(ax, labelled, loc="center right")
    return _save(fig, path)


def _box_faces(lo, hi):
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    c = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]])
    return [c[[0, 1, 2, 3]], c[[4, 5, 6, 7]], c[[0, 1, 5, 4]], c[[2, 3, 7, 6]], c[[1, 2, 6, 5]], c[[0, 3, 7, 4]]]


def _solids(world):
    """(x-z rectangle, 3-D faces) of every obstacle; a cylinder is drawn as a 12-sided prism."""
    from sim.world import Box, Cylinder
    out = []
    for o in world.obstacles:
        if isinstance(o, Box):
            lo, hi = np.subtract(o.center, np.divide(o.size, 2)), np.add(o.center, np.divide(o.size, 2))
            out.append(((lo[0], lo[2], hi[0] - lo[0], hi[2] - lo[2]), _box_faces(lo, hi)))
        elif isinstance(o, Cylinder):
            a = np.linspace(0, 2 * np.pi, 13)
            ring = np.stack([o.center[0] + o.radius * np.cos(a), o.center[1] + o.radius * np.sin(a)], axis=1)
            faces = [np.array([[*ring[i], o.z_min], [*ring[i + 1], o.z_min], [*ring[i + 1], o.z_max],
                               [*ring[i], o.z_max]]) for i in range(12)]
            faces.append(np.column_stack([ring, np.full(13, o.z_max)]))
            out.append(((o.center[0] - o.radius, o.z_min, 2 * o.radius, o.z_max - o.z_min), faces))
    return out


def side_and_3d(an, path: Path) -> Path:
    """Left a 3-D view, right the side view from the south (x against z): layers at different
    heights, which coincide in the top view, separate in both."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection
    tr = an.traj
    fig = Figure(figsize=(12.0, 5.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=(1.15, 1))
    ax3 = fig.add_subplot(grid[0], projection="3d")
    side = fig.add_subplot(grid[1])
    colours, labelled = drone_colours(an)
    _, p = _thin(tr.t, tr.pos)
    for k in range(len(tr.names)):
        ax3.plot(p[:, k, 0], p[:, k, 1], p[:, k, 2], lw=1.0, color=colours[k])
        side.plot(p[:, k, 0], p[:, k, 2], lw=1.0, color=colours[k])
    world = an.world
    if world is not None:
        lo, hi = world.bounds_min, world.bounds_max
        side.add_patch(Rectangle((lo[0], lo[2]), hi[0] - lo[0], hi[2] - lo[2], fill=False, ls="--",
                                 color="tab:red", label="geofence"))
        for rect, faces in _solids(world):
            side.add_patch(Rectangle(rect[:2], *rect[2:], color="0.45", alpha=0.5))
            ax3.add_collection3d(Poly3DCollection(faces, facecolor="0.55", edgecolor="0.4", lw=0.3, alpha=0.25))
        ax3.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), zlim=(lo[2], hi[2]))
        ax3.set_box_aspect((hi - lo) * (1, 1, Z_STRETCH))
        pad = 0.03 * (hi - lo)
        side.set(xlim=(lo[0] - pad[0], hi[0] + pad[0]), ylim=(lo[2] - pad[2], hi[2] + 4 * pad[2]))
    elif np.isfinite(p).any():
        span = np.nanmax(p, axis=(0, 1)) - np.nanmin(p, axis=(0, 1))
        ax3.set_box_aspect(np.maximum(span, 0.2 * span.max() + 1e-9) * (1, 1, Z_STRETCH))
    ax3.set(title=f"3-D view (height x{Z_STRETCH:g})", xlabel="x east (m)", ylabel="y north (m)", zlabel="z (m)")
    ax3.view_init(elev=22, azim=-60)
    ax3.tick_params(labelsize=7)
    ax3.set_zlabel("z (m)", labelpad=-2)
    side.set(title="side view from the south (height stretched)", xlabel="x east (m)", ylabel="z (m)")
    side.grid(True, alpha=0.3)
    _legend(side, labelled, loc="upper right", extra=side.get_legend_handles_labels()[0])
    return _save(fig, path)
