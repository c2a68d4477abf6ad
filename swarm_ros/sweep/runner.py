"""The sweep driver: prepare every task's run folder, keep the engine's workers busy, retry
tasks that failed or whose worker died, and stream the results into the table.

Nothing is dropped: a task either has a result row with status ok, or a row with status failed,
its attempts and its last error. A re-run into the same folder skips tasks with a result.json.
Backend ros: each task in flight holds one of `workers` slots and flies on ROS_DOMAIN_ID
base + slot, so concurrent ROS runs on one machine never hear each other.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.configfile import ConfigError
from .engines import WorkerLost
from .overrides import materialize
from .table import write_table
from .task import MetricError, collect, run_task

POLL = 0.5      # s between checks for finished tasks


@dataclass
class Outcome:
    rows: list
    ran: int = 0
    skipped: int = 0
    retried: list = field(default_factory=list)     # (task id, attempt, reason) of each retry
    failed: list = field(default_factory=list)      # task ids that failed every attempt
    tables: list = field(default_factory=list)


def _setting_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "the mission as it is"


def validate(sweep) -> None:
    """Load every setting's mission once (in a scratch folder): a bad axis value is reported as
    a one-line error naming the sweep file and the setting, before anything runs or is written."""
    from ..mission import load_mission
    with tempfile.TemporaryDirectory(prefix="swarm_ros_sweep_") as tmp:
        for k, setting in enumerate(sweep.settings()):
            try:
                load_mission(materialize(sweep, setting, sweep.seeds[0], Path(tmp) / str(k)))
            except ConfigError as err:
                problem = f"{err.file.rsplit('/', 1)[-1]}: {err.path or '<top level>'}: {err.problem}"
                raise ConfigError(sweep.file, "axes", f"setting {_setting_text(setting['params'])} gives an "
                                  f"invalid mission ({problem})", err.allowed or "values the mission accepts") from None


def prepare(sweep, out: Path) -> list[dict]:
    """Every task with its run folder and generated mission; tasks already finished carry their row."""
    base = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    tasks = []
    for t in sweep.tasks():
        run_dir = out / "runs" / t["id"]
        task = {**t, "run_dir": str(run_dir), "metrics": list(sweep.metrics), "backend": sweep.backend,
                "domain_base": base}
        done = run_dir / "result.json"
        if done.is_file():
            try:
                row = json.loads(done.read_text())
                missing = [m for m in sweep.metrics if m not in row]
                if missing:             # the sweep file names more metrics now: read them, do not fly again
                    row.update(collect(run_dir, missing))
                    done.write_text(json.dumps(row, indent=1))
                task["done"] = row
            except (ValueError, OSError, MetricError):
                pass                    # unreadable, or the metric is not there: fly it again
        if "done" not in task:
            task["mission_file"] = str(materialize(sweep, t, t["seed"], run_dir))
        tasks.append(task)
    return tasks


def run_sweep(sweep, out: Path, engine, on_event: Callable[[str, dict, str], None] | None = None,
              parquet: bool = True) -> Outcome:
    """Run the sweep's tasks on `engine` (engines.py) into `out`; events: skip, start, done,
    retry, failed (with the task and a text)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = prepare(sweep, out)
    note = on_event or (lambda *a: None)
    rows: dict[str, dict] = {}
    outcome = Outcome(rows=[])
    queue = deque()
    for t in tasks:
        if "done" in t:
            rows[t["id"]] = {**t["done"], "status": "ok", "attempts": t["done"].get("attempts", 1)}
            outcome.skipped += 1
            note("skip", t, "finished in an earlier run")
        else:
            t["attempt"] = 1
            queue.append(t)

    def flush():
        outcome.rows = [rows[t["id"]] for t in tasks if t["id"] in rows]
        return write_table(out, sweep, outcome.rows)

    flush()
    in_flight: dict = {}
    free_slots = list(range(engine.workers))
    while queue or in_flight:
        while queue and free_slots:
            t = queue.popleft()
            slot = free_slots.pop(0)
            t["domain_id"] = t["domain_base"] + slot
            in_flight[engine.submit(run_task, dict(t))] = (t, slot, time.time())
            note("start", t, f"attempt {t['attempt']}")
        for handle in engine.wait(list(in_flight), POLL):
            t, slot, _started = in_flight.pop(handle)
            free_slots.append(slot)
            try:
                row = engine.result(handle)
            except Exception as err:   # noqa: BLE001  anything a task raises is reported, none dropped
                lost = isinstance(err, WorkerLost)
                reason = f"worker died ({err})" if lost else f"{type(err).__name__}: {err}"
                final = isinstance(err, (ConfigError, MetricError)) or t["attempt"] > sweep.retries
                if not final:
                    outcome.retried.append((t["id"], t["attempt"], reason))
                    note("retry", t, reason)
                    t["attempt"] += 1
                    queue.appendleft(t)
                    continue
                if not lost and not isinstance(err, (ConfigError, MetricError)):
                    Path(t["run_dir"], "error.txt").write_text("".join(traceback.format_exception(err)))
                rows[t["id"]] = {"id": t["id"], "setting": t["setting"], **t["params"], "seed": t["seed"],
                                 "status": "failed", "attempts": t["attempt"], "error": reason}
                outcome.failed.append(t["id"])
                note("failed", t, reason)
            else:
                row.update(status="ok", attempts=t["attempt"])
                Path(t["run_dir"], "result.json").write_text(json.dumps(row, indent=1))
                rows[t["id"]] = row
                outcome.ran += 1
                note("done", t, f"{row['wall_s']:.1f} s")
            flush()
    outcome.rows = [rows[t["id"]] for t in tasks]
    outcome.tables = write_table(out, sweep, outcome.rows, parquet=parquet)
    return outcome
