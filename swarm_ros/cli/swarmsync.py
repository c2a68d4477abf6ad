"""`swarm-ros swarmsync simulate`: disseminate a patch over the network simulator, at scale.

Runs one or more strategies (SwarmSync, Gossip, SOUL) on the same fleet, flight and radio, and
prints convergence time (every live target holds the verified blob), the time by which 95 % do,
bytes and messages sent and the per-drone energy proxy. Exit code 1 when a run did not converge
within --until.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.configfile import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

WHERE = "swarm-ros swarmsync simulate"


def add_parser(sub) -> None:
    p = sub.add_parser("swarmsync", help="SwarmSync patch dissemination (network simulator)")
    ss = p.add_subparsers(dest="swarmsync_command", required=True)
    s = ss.add_parser("simulate", help="simulate disseminating a patch to a swarm, with a strategy")
    s.add_argument("--drones", type=int, default=100, help="swarm size (default 100)")
    s.add_argument("--strategy", default="swarmsync",
                   help="swarmsync, gossip, soul, or several separated by commas (default swarmsync)")
    s.add_argument("--loss", type=float, default=0.0, help="packet loss probability per link, 0 <= P < 1")
    s.add_argument("--target", default="type=cf", help="target selector (default 'type=cf': half the fleet)")
    s.add_argument("--size", type=int, default=65536, help="patch size in bytes (default 65536)")
    s.add_argument("--seed", type=int, default=0, help="seed of flight, radio and patch bytes")
    s.add_argument("--density", type=float, default=24.0, help="mean neighbours in radio range (default 24)")
    s.add_argument("--range", type=float, default=60.0, help="radio range, m (default 60)")
    s.add_argument("--until", type=float, default=600.0, help="simulated seconds at most (default 600)")
    s.add_argument("--fail-leader-at", type=float, metavar="T",
                   help="take the most-followed SwarmSync leader down for good at time T")
    s.add_argument("--json", help="write the results to this JSON file")
    s.set_defaults(func=cmd_simulate)


def _bad(arg: str, problem: str, allowed: str) -> ConfigError:
    return ConfigError(WHERE, arg, problem, allowed)


def scenarios(args) -> list:
    """The Scenario of each requested strategy; ConfigError on bad input."""
    from firmware_update.scenario import STRATEGIES, Failure, Scenario
    from firmware_update.selector import SelectorError, TargetSelector
    strategies = [x.strip() for x in args.strategy.split(",")]
    for x in strategies:
        if x not in STRATEGIES:
            raise _bad("--strategy", f"unknown strategy {x!r}", ", ".join(STRATEGIES) + " (comma-separated)")
    if not 2 <= args.drones <= 100_000:
        raise _bad("--drones", f"got {args.drones}", "an integer from 2 to 100000")
    if not 0 <= args.loss < 1:
        raise _bad("--loss", f"got {args.loss:g}", "a probability >= 0 and < 1")
    if not 1 <= args.size <= 64 << 20:
        raise _bad("--size", f"got {args.size}", "bytes from 1 to 67108864")
    for name in ("density", "range", "until"):
        v = getattr(args, name)
        if not (v > 0 and math.isfinite(v)):
            raise _bad(f"--{name}", f"got {v:g}", "a finite number > 0")
    try:
        from firmware_update.scenario import fleet
        if not TargetSelector.parse(args.target).select(fleet(args.drones)):
            raise _bad("--target", f"{args.target!r} selects none of the {args.drones} drones",
                       "a selector over type (cf, x500), role (scout, mapper, relay) or name (d0000...)")
    except SelectorError as err:
        raise _bad("--target", str(err), "KEY=VALUE[,KEY=VALUE], e.g. 'type=cf,role=scout'") from None
    failures = ()
    if args.fail_leader_at is not None:
        if not 0 <= args.fail_leader_at < args.until:
            raise _bad("--fail-leader-at", f"got {args.fail_leader_at:g}",
                       f"a time >= 0 and < --until ({args.until:g})")
        failures = (Failure(args.fail_leader_at, "leader"),)
    return [Scenario(drones=args.drones, strategy=x, target=args.target, size=args.size, loss=args.loss,
                     seed=args.seed, density=args.density, range=args.range, until=args.until, failures=failures)
            for x in strategies]


def _fmt(x, unit="") -> str:
    return "-" if x is None else f"{x:.2f}{unit}"


def summary_table(results: list[dict]) -> Table:
    from rich.table import Table
    t = Table(title=f"patch dissemination, {results[0]['drones']} drones, {results[0]['targets']} targeted "
                    f"({results[0]['target']}), {results[0]['size_bytes']} B, loss {results[0]['loss']:g}")
    for col in ("strategy", "converged", "convergence", "95 % done", "bytes sent", "messages", "energy/drone",
                "elections", "wall"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for r in results:
        t.add_row(r["strategy"], f"{r['completed']}/{r['live_targets']}", _fmt(r["convergence_s"], " s"),
                  _fmt(r["t95_s"], " s"), f"{r['bytes_sent'] / 1e6:.2f} MB", str(r["messages_sent"]),
                  f"{r['energy_mean'] / 1e3:.0f} kB", str(r["elections"]), f"{r['wall_s']:.1f} s")
    return t


def cmd_simulate(args, console) -> int:
    from rich.progress import BarColumn, Progress, TextColumn
    from firmware_update.scenario import run
    runs = scenarios(args)
    out_path = Path(args.json) if args.json else None
    if out_path is not None and not out_path.parent.is_dir():
        raise _bad("--json", f"folder {str(out_path.parent)!r} does not exist", "a file in an existing folder")
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} targets"),
                  TextColumn("t = {task.fields[t]:.1f} s"), console=console, transient=True) as bar:
        for s in runs:
            task = bar.add_task(s.strategy, total=None, t=0.0)
            results.append(run(s, lambda t, done, total, task=task: bar.update(task, completed=done, total=total, t=t)))
    console.print(summary_table(results))
    if out_path is not None:
        try:
            out_path.write_text(json.dumps({"runs": results}, indent=2))
        except OSError as err:
            raise _bad("--json", f"cannot write {str(out_path)!r}: {err.strerror}", "a writable file") from None
    failed = [r["strategy"] for r in results if not r["converged"]]
    if failed:
        console.print(f"[red]not converged within {args.until:g} s:[/] {', '.join(failed)}")
        return 1
    return 0
