"""The sweep's one table: a row per task (parameters, seed, metrics, wall time, status), written
as results.json and results.csv after every finished task, and as results.parquet at the end
when pyarrow is installed."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

FIXED = ("id", "setting")
TAIL = ("status", "attempts", "wall_s", "host", "error")


def columns(sweep) -> list[str]:
    return [*FIXED, *(a.name for a in sweep.axes), "seed", *sweep.metrics, *TAIL]


def describe(sweep) -> dict:
    """What the report needs to know about the sweep, stored beside the rows."""
    return {"name": sweep.name, "file": sweep.file, "backend": sweep.backend, "seeds": list(sweep.seeds),
            "metrics": list(sweep.metrics), "axes": [{"name": a.name, "values": list(a.labels)} for a in sweep.axes]}


def _plain(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def write_table(out: Path, sweep, rows: list[dict], parquet: bool = False) -> list[Path]:
    cols = columns(sweep)
    rows = [{c: _plain(r.get(c)) for c in cols} for r in rows]
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps({"sweep": describe(sweep), "columns": cols, "rows": rows}, indent=1))
    tmp.replace(out / "results.json")          # a reader never sees half a table
    with open(out / "results.csv.tmp", "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    (out / "results.csv.tmp").replace(out / "results.csv")
    written = [out / "results.json", out / "results.csv"]
    if parquet:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            return written
        table = pa.Table.from_pylist([{c: (None if r[c] is None else r[c] if not isinstance(r[c], (list, dict))
                                           else json.dumps(r[c])) for c in cols} for r in rows])
        pq.write_table(table, out / "results.parquet")
        written.append(out / "results.parquet")
    return written


def read_table(path: Path) -> dict:
    """results.json of a sweep folder (or the file itself)."""
    path = Path(path)
    return json.loads((path / "results.json" if path.is_dir() else path).read_text())
