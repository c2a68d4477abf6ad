"""`swarm-ros analyze BAG [BAG2]`: metrics, plots and an HTML report of recorded runs; with two
bags, a side-by-side comparison."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, Group
    from rich.table import Table




def _number(lo_open: bool):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 if lo_open else value >= 0) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {'>' if lo_open else '>='} 0")
        return value
    return parse


def _plain(x):
    """JSON-ready copy: numpy scalars to Python, NaN and infinities to null (JSON has neither)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(_plain(data), indent=2, allow_nan=False))


def _analyze_one(bag: str, args, console: Console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from ..analysis.metrics import analyze
    with Progress(TextColumn("reading {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(Path(bag).name, total=None)
        return analyze(bag, world_file=args.world, mission_file=args.mission, near_miss=args.near_miss, footprint=args.footprint,
                       min_speed=args.min_speed, progress=lambda done, total: bar.update(task, completed=done,
                                                                                        total=total))


def _outputs(an, out: Path) -> dict:
    from ..analysis.htmlreport import write_report
    from ..analysis.plots import write_plots
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "metrics.json", an.metrics)
    plots = write_plots(an, out)
    write_report(an.metrics, plots, out / "report.html")
    return plots


def run_tables(m: dict) -> Group:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    from ..analysis.compare import summary_rows
    title = f"analysis of {m['bag']}" + (f" (mission {m['mission']['mission']})" if m["mission"].get("mission") else "")
    summary = Table(title=title, title_justify="left")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for label, value in summary_rows(m):
        summary.add_row(label, value)
    drones = Table(show_header=True)
    for col in ("drone", "dist (m)", "min sep task (m)", "max v (m/s)", "near", "coll", "fence", "gaps"):
        drones.add_column(col, justify="left" if col == "drone" else "right")
    for d in m["drones"]:
        drones.add_row(d["name"], f"{d['distance']:.2f}",
                       "n/a" if d["min_separation"] is None else f"{d['min_separation']:.3f}",
                       "n/a" if d["max_speed"] is None else f"{d['max_speed']:.2f}", str(d["near_misses"]),
                       "n/a" if d["collisions"] is None else str(d["collisions"]),
                       "n/a" if d["geofence_violations"] is None else str(d["geofence_violations"]),
                       str(d["odom_gaps"]["count"]))
    notes = [Text(n, style="yellow") for n in m["notes"]]
    if "live_summary" in m:
        s = m["live_summary"]
        notes.append(Text(f"recorded summary: collisions {s['collisions']}, geofence violations "
                          f"{s['geofence_violations']}, minimum separation {s['min_separation']}"))
    return Group(summary, drones, *notes)


def comparison_table(comp: dict) -> Table:
    from rich.table import Table
    table = Table(title="A vs B", title_justify="left", caption=f"A = {comp['a']}\nB = {comp['b']}",
                  caption_justify="left")
    for col in ("metric", "A", "B", "B - A"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for r in comp["rows"]:
        table.add_row(r["metric"] + (f" ({r['unit']})" if r["unit"] else ""), *r["text"])
    return table


def _default_out(bags: list[str]) -> Path:
    first = Path(bags[0]).resolve()
    return first.with_name(first.stem + ("_compare" if len(bags) > 1 else "_analysis"))


def _animation_target(args, out: Path) -> Path | None:
    """The file --animate asks for (checked before anything is read or written), or None."""
    if args.animate is None:
        return None
    from ..analysis.animation import AnimationError, check_target
    if args.bag2:
        raise AnimationError("--animate: one bag at a time (give a single BAG)")
    target = out / "animation.gif" if args.animate is True else Path(args.animate)
    check_target(target)
    return target


def _animate(an, target: Path, console: Console) -> None:
    from ..analysis.animation import AnimationError, write_animation
    try:
        made = write_animation(an, target)
    except OSError as err:
        raise AnimationError(f"--animate {target}: cannot write: {err.strerror or err}") from None
    fast = f" ({made['speedup']:.1f}x speed)" if made["speedup"] > 1.05 else ""
    console.print(f"animation: {made['frames']} frames of {made['width']}x{made['height']} at "
                  f"{made['fps']} fps{fast} in {target}")


def cmd_analyze(args, console: Console) -> int:
    from ..analysis.animation import AnimationError
    from ..analysis.bag import BagError
    bags = [args.bag] + ([args.bag2] if args.bag2 else [])
    out = args.out or _default_out(bags)
    try:
        target = _animation_target(args, out)
        results = [_analyze_one(b, args, console) for b in bags]
        if len(results) == 1:
            _outputs(results[0], out)
            console.print(run_tables(results[0].metrics))
            if target is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                _animate(results[0], target, console)
        else:
            from ..analysis.compare import comparison
            from ..analysis.htmlreport import write_comparison
            runs = [(an.metrics, _outputs(an, out / tag)) for tag, an in zip("ab", results)]
            comp = comparison(runs[0][0], runs[1][0])
            _write_json(out / "comparison.json", comp)
            write_comparison(comp, runs, out / "report.html")
            for an in results:
                console.print(run_tables(an.metrics))
            console.print(comparison_table(comp))
    except (BagError, AnimationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot write to {out}: {err.strerror or err}", file=sys.stderr)
        return 2
    console.print(f"metrics, plots and report in {out}/ (open {out / 'report.html'})")
    return 0


def add_parser(sub) -> None:
    from ..analysis.defaults import FOOTPRINT, MIN_SPEED, NEAR_MISS_MARGIN
    p = sub.add_parser("analyze", help="metrics, plots and an HTML report of a recorded bag (two bags: compare)")
    p.add_argument("bag", help="rosbag2 folder, .mcap or .db3 (ours or any with nav_msgs/Odometry topics)")
    p.add_argument("bag2", nargs="?", help="a second bag to compare with the first")
    p.add_argument("--out", type=Path, help="output folder (default: <bag>_analysis, or <bag>_compare for two)")
    p.add_argument("--mission", help="mission file to take the world and fleet from (default: the one named in "
                   "the bag's metadata, used only if it lies under the bag's folder or the current folder)")
    p.add_argument("--world", help="world file (geofence, obstacles) when the bag's mission file is not readable")
    p.add_argument("--near-miss", type=_number(False), metavar="M",
                   help=f"near miss: centre distance < r_i + r_j + M (m; default {NEAR_MISS_MARGIN:g})")
    p.add_argument("--footprint", type=_number(True), default=FOOTPRINT, metavar="R",
                   help=f"coverage footprint radius in m (default {FOOTPRINT:g})")
    p.add_argument("--min-speed", type=_number(False), default=MIN_SPEED, metavar="V",
                   help=f"drones slower than this (m/s) are left out of polarization and milling (default {MIN_SPEED:g})")
    p.add_argument("--animate", nargs="?", const=True, metavar="FILE",
                   help="also write an animation of the run (top view with trails): FILE.gif (default "
                   "<out>/animation.gif) or FILE.mp4 (needs ffmpeg)")
    p.set_defaults(func=cmd_analyze)
