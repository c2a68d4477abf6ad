"""PNG plots of one run, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Long runs are thinned to at most MAX_POINTS per line; the separation curve keeps each block's
minimum so close approaches stay visible.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

MAX_POINTS = 4000
SIZE, DPI = (8.0, 4.5), 100


def _thin(t: np.ndarray, y: np.ndarray, keep_min: bool = False):
    step = int(np.ceil(len(t) / MAX_POINTS))
    if step <= 1:
        return t, y
    n = len(t) // step * step
    if keep_min:
        blocks = y[:n].reshape(-1, step, *y.shape[1:])
        with np.errstate(all="ignore"):
            return t[:n:step], np.where(np.isnan(blocks).all(axis=1), np.nan, np.nanmin(np.where(
                np.isnan(blocks), np.inf, blocks), axis=1))
    return t[::step], y[::step]


def _figure(title: str, xlabel: str, ylabel: str):
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig, path: Path) -> Path:
    fig.savefig(path)
    return path


def _world_patches(ax, world) -> None:
    from sim.world import Box, Cylinder
    lo, hi = world.bounds_min, world.bounds_max
    ax.add_patch(Rectangle(lo[:2], *(hi - lo)[:2], fill=False, ls="--", color="tab:red", label="geofence"))
    for o in world.obstacles:
        if isinstance(o, Box):
            ax.add_patch(Rectangle((o.center[0] - o.size[0] / 2, o.center[1] - o.size[1] / 2), o.size[0], o.size[1],
                                   color="0.45", alpha=0.7))
        elif isinstance(o, Cylinder):
            ax.add_patch(Circle(o.center, o.radius, color="0.45", alpha=0.7))


def trajectories(an, path: Path) -> Path:
    tr = an.traj
    fig, ax = _figure("trajectories (top view)", "x east (m)", "y north (m)")
    if an.coverage_map is not None:
        lo, hi = an.world.bounds_min, an.world.bounds_max
        ax.imshow(np.isfinite(an.coverage_map).T, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]),
                  cmap="Greens", alpha=0.25, vmin=0, vmax=2, interpolation="nearest")
    if an.world is not None:
        _world_patches(ax, an.world)
    for k, name in enumerate(tr.names):
        _, p = _thin(tr.t, tr.pos[:, k])
        line, = ax.plot(p[:, 0], p[:, 1], lw=1.2, label=name)
        first = np.flatnonzero(~np.isnan(p[:, 0]))
        if len(first):
            ax.plot(*p[first[0], :2], "o", color=line.get_color(), ms=4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7, ncols=2, loc="best")
    return _save(fig, path)


def separation(an, path: Path) -> Path:
    m, tr = an.metrics, an.traj
    fig, ax = _figure("minimum separation between any two drones", "t (s)", "centre distance (m)")
    t, y = _thin(tr.t, an.series["min_separation"], keep_min=True)
    ax.plot(t, y, lw=1.2, label="minimum separation")
    radii = [d["body_radius"] for d in m["drones"] if d["body_radius"] is not None]
    if len(radii) == len(m["drones"]) and len(radii) > 1:
        two = 2 * min(radii)
        ax.axhline(two, color="tab:red", ls="--", lw=1, label=f"contact of the two smallest ({two:.2f} m)")
    for e in m["near_misses"]["events"]:
        ax.plot(e["t"], e["separation"], "v", color="tab:orange", ms=6)
    for e in m["collisions"].get("events", []) if m["collisions"].get("available") else []:
        if e["kind"] == "drone":
            ax.plot(e["t"], e["separation"], "x", color="tab:red", ms=8, mew=2)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return _save(fig, path)


def order(an, path: Path) -> Path:
    fig, ax = _figure("swarm order parameters", "t (s)", "value")
    for key, label in (("polarization", "polarization"), ("milling", "milling")):
        t, y = _thin(an.traj.t, an.series[key])
        ax.plot(t, y, lw=1.2, label=label)
    if "coverage" in an.series:
        t, y = _thin(an.traj.t, an.series["coverage"])
        ax.plot(t, y, lw=1.2, label="coverage fraction")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    return _save(fig, path)


def speed(an, path: Path) -> Path:
    fig, ax = _figure("speed per drone", "t (s)", "speed (m/s)")
    t, y = _thin(an.traj.t, an.series["speed"])
    for k, name in enumerate(an.traj.names):
        ax.plot(t, y[:, k], lw=1.0, label=name)
    ax.legend(fontsize=7, ncols=2)
    return _save(fig, path)


def versions(an, path: Path) -> Path | None:
    mv = an.metrics["model_versions"]
    if not mv.get("available"):
        return None
    labels = sorted({e["version"] for ev in mv["per_drone"].values() if ev for e in ev})
    fig, ax = _figure("model version per drone", "t (s)", "version")
    end = float(an.traj.t[-1]) if len(an.traj.t) else 0.0
    for name, ev in mv["per_drone"].items():
        if ev:
            xs = [e["t"] for e in ev] + [end]
            ys = [labels.index(e["version"]) for e in ev]
            ax.step(xs, ys + ys[-1:], where="post", lw=1.5, label=name)
    ax.set_yticks(range(len(labels)), labels)
    ax.legend(fontsize=7, ncols=2)
    return _save(fig, path)


def write_plots(an, out: Path) -> dict[str, Path]:
    """All plots of one run into `out`; returns {plot name: file}."""
    from .elevation import altitude, side_and_3d
    out.mkdir(parents=True, exist_ok=True)
    made = {"trajectories": trajectories(an, out / "trajectories.png"),
            "altitude": altitude(an, out / "altitude.png"),
            "side and 3-D views": side_and_3d(an, out / "side_3d.png"),
            "separation": separation(an, out / "separation.png"),
            "order": order(an, out / "order.png"),
            "speed": speed(an, out / "speed.png")}
    v = versions(an, out / "versions.png")
    if v is not None:
        made["versions"] = v
    return made
