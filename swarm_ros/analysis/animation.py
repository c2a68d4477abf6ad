"""An animation of a recorded run: the top view with each drone's recent trail, obstacles and the
geofence, the mission time and phase in the corner.

GIF (Pillow, always there with matplotlib) or MP4 (matplotlib's ffmpeg writer, when ffmpeg is on
PATH). The frame count is bounded (MAX_FRAMES, at FPS: real time up to 15 s of film, faster
beyond) so a long run still renders in seconds, and memory stays at a few hundred kB a frame.
Frames are drawn by blitting: the static picture is rendered once, each frame redraws only the
trails, markers and clock on a copy of it. GIF frames share the first frame's palette, so
colours do not flicker.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .elevation import _legend, drone_colours
from .plots import _world_patches

MAX_FRAMES = 300
FPS = 20                      # GIF frame times are whole centiseconds: 50 ms exactly
TRAIL = 3.0                   # s of trail drawn behind each drone
SIZE, DPI = (6.4, 4.8), 100   # 640 x 480 pixels
FORMATS = (".gif", ".mp4")


class AnimationError(Exception):
    """An animation that cannot be written; str() is one line saying why."""


def frame_steps(t: np.ndarray, max_frames: int = MAX_FRAMES, fps: int = FPS) -> np.ndarray:
    """Grid indices of the frames: evenly spread, at most one per grid step and max_frames."""
    if len(t) < 2:
        return np.arange(len(t))
    n = int(min(max_frames, len(t), max(2, round(float(t[-1] - t[0]) * fps))))
    return np.unique(np.round(np.linspace(0, len(t) - 1, n)).astype(int))


def check_target(path: Path) -> None:
    """Refuse a file the animation cannot be written to, before any work is done."""
    if path.suffix.lower() not in FORMATS:
        raise AnimationError(f"--animate {path}: unknown format {path.suffix or '(no suffix)'}; "
                             "allowed: a .gif or .mp4 file name")
    if path.suffix.lower() == ".mp4" and shutil.which("ffmpeg") is None:
        raise AnimationError(f"--animate {path}: MP4 needs ffmpeg on PATH, which is not installed; "
                             "name a .gif file instead")


def _limits(an):
    if an.world is not None:
        lo, hi = an.world.bounds_min, an.world.bounds_max
    else:
        xy = an.traj.pos[:, :, :2]
        lo, hi = np.nanmin(xy, axis=(0, 1)), np.nanmax(xy, axis=(0, 1))
    pad = 0.05 * max(float(np.max(hi[:2] - lo[:2])), 1.0)
    return (lo[0] - pad, hi[0] + pad), (lo[1] - pad, hi[1] + pad)


def _phase(phases: dict | None, t: float) -> str:
    if not phases or not phases.get("available"):
        return ""
    return "  take-off" if t < phases["takeoff_end"] else "  task" if t < phases["task_end"] else "  landing"


def write_animation(an, path: Path, max_frames: int = MAX_FRAMES) -> dict:
    """Write the animation of analysis `an` to `path` (.gif or .mp4); returns what was written."""
    path = Path(path)
    check_target(path)
    tr = an.traj
    steps = frame_steps(tr.t, max_frames)
    speedup = (float(tr.t[-1] - tr.t[0]) / (len(steps) / FPS)) if len(steps) > 1 else 1.0
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    name = an.metrics["mission"].get("mission") or Path(an.metrics["bag"]).name
    ax.set(xlabel="x east (m)", ylabel="y north (m)",
           title=f"{name} (top view" + (f", {speedup:.1f}x speed)" if speedup > 1.05 else ")"))
    ax.grid(True, alpha=0.3)
    if an.world is not None:
        _world_patches(ax, an.world)
    ax.set_xlim(*_limits(an)[0])
    ax.set_ylim(*_limits(an)[1])
    ax.set_aspect("equal", adjustable="box")
    colours, labelled = drone_colours(an)
    _legend(ax, labelled, loc="upper right", framealpha=0.8)
    trails = [ax.plot([], [], lw=1.2, color=c, animated=True)[0] for c in colours]
    dots = [ax.plot([], [], "o", ms=5, color=c, mec="k", mew=0.5, animated=True)[0] for c in colours]
    clock = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", fontsize=9, animated=True,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    canvas.draw()
    w, h = canvas.get_width_height()
    background = canvas.copy_from_bbox(fig.bbox)
    trail_steps = max(1, int(round(TRAIL / tr.dt)))

    def render(k: int) -> np.ndarray:
        canvas.restore_region(background)
        lo = max(0, k - trail_steps)
        for j, (trail, dot) in enumerate(zip(trails, dots)):
            p = tr.pos[lo:k + 1, j]
            trail.set_data(p[:, 0], p[:, 1])
            here = p[-1] if np.isfinite(p[-1]).all() else (np.nan, np.nan)
            dot.set_data([here[0]], [here[1]])
            fig.draw_artist(trail)
            fig.draw_artist(dot)
        clock.set_text(f"t = {tr.t[k]:5.1f} s{_phase(an.phases, tr.t[k])}")
        fig.draw_artist(clock)
        return np.asarray(canvas.buffer_rgba())

    if path.suffix.lower() == ".gif":
        _gif(path, (render(k) for k in steps))
    else:
        _mp4(path, (w, h), (render(k) for k in steps))
    return {"file": path, "frames": len(steps), "fps": FPS, "width": w, "height": h, "speedup": speedup}


def _gif(path: Path, frames) -> None:
    from PIL import Image
    first, rest = None, []
    for rgba in frames:
        image = Image.fromarray(rgba[..., :3].copy())
        if first is None:
            first = image.quantize(colors=128)
        else:
            rest.append(image.quantize(palette=first, dither=Image.Dither.NONE))
    first.save(path, save_all=True, append_images=rest, duration=round(1000 / FPS), loop=0)


def _mp4(path: Path, size: tuple[int, int], frames) -> None:
    import subprocess
    cmd = [shutil.which("ffmpeg") or "ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba",
           "-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(path)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            for rgba in frames:
                proc.stdin.write(rgba.tobytes())
        except BrokenPipeError:
            pass
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    if proc.returncode != 0:
        raise AnimationError(f"--animate {path}: ffmpeg failed: {err[-1] if err else f'exit code {proc.returncode}'}")
