"""One sweep task, as a worker runs it: fly one setting with one seed into its own run folder
and pick the sweep's metrics out of what the run wrote.

A plain function of a plain dict, so Ray, a process pool or a loop can run it alike. The run
folder holds the generated mission, `summary.json`, the analysis' `metrics.json` (backend ros)
and `result.json`, written last: a folder with a result is a finished task (resume skips it).
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from .spec import ANALYSIS


class MetricError(Exception):
    """The run finished but a metric the sweep names is not in what it wrote (not retried)."""


def pick(data: dict, path: str, where: str):
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            have = ", ".join(sorted(node)) if isinstance(node, dict) else type(node).__name__
            raise MetricError(f"metric {path!r} is not in {where} (at {part!r}; there: {have})")
    if isinstance(node, bool):
        return int(node)
    if node is None or isinstance(node, (int, float)):
        return node
    raise MetricError(f"metric {path!r} in {where} is {type(node).__name__}, not a number")


def collect(run_dir: Path, metrics: list[str]) -> dict:
    """The metrics from what a finished run wrote (also for a resumed sweep that names more)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    analysis = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    return {m: pick(analysis, m[len(ANALYSIS):], "the analysis' metrics.json") if m.startswith(ANALYSIS)
            else pick(summary, m, "summary.json") for m in metrics}


def _fly(task: dict, run_dir: Path) -> dict:
    from ..mission import load_mission
    mission = load_mission(task["mission_file"])
    if task["backend"] == "headless":
        from ..headless import fly
        return fly(mission).summary()
    from rich.console import Console
    from ..runner import run_mission
    ros_dir = run_dir / "ros"
    if ros_dir.exists():                 # a killed earlier attempt's leftovers
        import shutil
        shutil.rmtree(ros_dir)
    with open(run_dir / "ros.log", "w") as log:
        summary = run_mission(mission, speed=0.0, run_dir=ros_dir, domain_id=task["domain_id"],
                              console=Console(file=log, width=120))
    if any(m.startswith(ANALYSIS) for m in task["metrics"]):
        from ..analysis.metrics import analyze
        metrics = analyze(summary["bag"], mission_file=task["mission_file"]).metrics
        from ..cli.analyze import _plain
        (run_dir / "metrics.json").write_text(json.dumps(_plain(metrics), indent=1, allow_nan=False))
    return summary


def run_task(task: dict) -> dict:
    """Run one task; returns its result row (also written to result.json)."""
    run_dir = Path(task["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").unlink(missing_ok=True)
    (run_dir / "started.json").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                      "attempt": task.get("attempt", 1), "time": time.time()}))
    t0 = time.perf_counter()
    summary = _fly(task, run_dir)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    values = collect(run_dir, task["metrics"])
    row = {"id": task["id"], "setting": task["setting"], **task["params"], "seed": task["seed"], **values,
           "wall_s": time.perf_counter() - t0, "host": socket.gethostname(), "pid": os.getpid()}
    (run_dir / "result.json").write_text(json.dumps(row, indent=1))
    return row
