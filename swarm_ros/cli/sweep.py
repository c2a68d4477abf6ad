"""`swarm-ros sweep FILE`: a study over missions, parameters and seeds as independent tasks on Ray
(a local Ray by default, or a cluster with --address), into one table; `swarm-ros sweep report
DIR`: statistics over seeds, plots and an HTML page of a sweep folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

WHERE = "swarm-ros sweep"


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not an integer >= 1")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a study (missions x parameters x seeds) on Ray; `sweep report DIR`: its "
                       "statistics, plots and HTML page",
                       description="swarm-ros sweep FILE [options] runs a sweep file; "
                       "swarm-ros sweep report DIR summarises a sweep folder.")
    p.add_argument("file", metavar="FILE|report", help="sweep file (or an installed sweep's name), or `report`")
    p.add_argument("dir", nargs="?", metavar="DIR", help="with `report`: the sweep folder")
    p.add_argument("--out", type=Path, help="sweep folder (default sweeps/<name>); a re-run into it resumes")
    p.add_argument("--address", help="an existing Ray cluster: ray://HOST:PORT or auto (default: a local Ray on "
                   "127.0.0.1, started and stopped by this command)")
    p.add_argument("--workers", type=_workers, help="tasks at a time on the local Ray (default: the cores)")
    p.add_argument("--pool", action="store_true", help="a local process pool instead of Ray")
    p.set_defaults(func=cmd_sweep)


def _find_sweep(name: str) -> Path:
    from ..core.resources import find_named
    from ..sweep.spec import installed_sweeps
    return find_named(name, installed_sweeps(), ".yaml", "sweep file")


def cmd_sweep(args, console) -> int:
    from ..core.configfile import ConfigError
    if args.file == "report":
        if not args.dir:
            raise ConfigError(WHERE, "report", "no sweep folder given", "swarm-ros sweep report DIR")
        return cmd_report(Path(args.dir), console)
    if args.dir:
        raise ConfigError(WHERE, args.dir, "unexpected argument", "swarm-ros sweep FILE [options]")
    if args.pool and args.address:
        raise ConfigError(WHERE, "--pool", "given with --address", "one of them")
    from ..sweep.runner import validate
    from ..sweep.spec import load_sweep
    sweep = load_sweep(_find_sweep(args.file))
    out = args.out or Path("sweeps") / sweep.name
    _check_out(out, sweep)
    validate(sweep)
    from ..sweep.engines import INSTALL_HINT, ClusterUnreachable, PoolEngine, default_workers, open_engine
    try:
        engine = PoolEngine(args.workers or default_workers()) if args.pool else open_engine(args.address, args.workers)
    except ImportError:
        print(f"error: --address needs Ray, which is not installed: {INSTALL_HINT}", file=sys.stderr)
        return 2
    except ClusterUnreachable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n = len(sweep.seeds) * len(sweep.settings())
    where = args.address or f"a local {'Ray' if engine.name == 'ray' else 'process pool'} on 127.0.0.1"
    if engine.name != "ray" and not args.pool:
        console.print(f"[yellow]note:[/] Ray is not installed, so the tasks run in a local process pool "
                      f"({INSTALL_HINT} for Ray)")
    console.print(f"[bold]sweep[/] {sweep.name}: {len(sweep.settings())} settings x {len(sweep.seeds)} seeds = "
                  f"{n} runs ({sweep.backend}) on {where}, {engine.workers} at a time, into {out}")
    try:
        outcome = _run(sweep, out, engine, console, n)
    finally:
        engine.close()
    console.print(f"{outcome.ran} ran, {outcome.skipped} finished earlier, {len(outcome.retried)} retried, "
                  f"{len(outcome.failed)} failed; table: " + ", ".join(str(p) for p in outcome.tables))
    for task_id in outcome.failed:
        row = next(r for r in outcome.rows if r["id"] == task_id)
        console.print(f"[red]failed:[/] {task_id} after {row['attempts']} attempts: {row['error']}", soft_wrap=True)
    console.print(f"next: swarm-ros sweep report {out}")
    return 1 if outcome.failed else 0


def _check_out(out: Path, sweep) -> None:
    from ..core.configfile import ConfigError
    from ..sweep.table import read_table
    if (out / "results.json").is_file():
        try:
            name = read_table(out)["sweep"]["name"]
        except (ValueError, KeyError, TypeError):
            name = None
        if name != sweep.name:
            raise ConfigError(WHERE, "--out", f"{out} holds the results of sweep {name!r}, not {sweep.name!r}",
                              "the folder of this sweep (to resume it) or a new one")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(WHERE, "--out", f"{out} exists and is not a sweep folder", "a new or empty folder")


def _run(sweep, out: Path, engine, console, n: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from ..sweep.runner import run_sweep
    progress = Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console, disable=not console.is_terminal)
    bar = progress.add_task("", total=n)

    def on_event(kind: str, task: dict, text: str):
        if kind in ("done", "skip", "failed"):
            progress.advance(bar)
        if kind in ("retry", "failed"):
            console.print(f"[yellow]{kind}:[/] {task['id']} (attempt {task['attempt']}): {text}", soft_wrap=True)
        elif kind == "done" and not console.is_terminal:
            console.print(f"  done {task['id']} {text}")
        progress.update(bar, description=f"{kind} {task['id']}")

    with progress:
        return run_sweep(sweep, out, engine, on_event)


def cmd_report(folder: Path, console) -> int:
    from ..core.configfile import ConfigError
    if not (folder / "results.json").is_file():
        raise ConfigError(WHERE, "report", f"{folder} has no results.json", "a folder `swarm-ros sweep` wrote")
    from rich.table import Table
    from ..sweep.report import report, summary_rows
    done = report(folder)
    header, rows = summary_rows(done["table"], done["settings"])
    table = Table(title=f"sweep {done['table']['sweep']['name']}: mean ± 95 % CI (sd) over seeds",
                  title_justify="left")
    for h in header:
        table.add_column(str(h), justify="right")
    for r in rows:
        table.add_row(*map(str, r))
    console.print(table)
    console.print(f"{len(done['plots'])} plots and report in {done['out']}/ (open {done['html']})")
    return 0
