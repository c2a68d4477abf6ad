"""Shared helpers for the benchmarks: machine facts, medians of repeats, tables, JSON results."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


def single_thread_env() -> None:
    """Keep numpy/scipy to one thread (call before importing numpy): figures are per core."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask), which is what a run can use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR, capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=BENCH_DIR,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine_info() -> dict:
    import numpy
    info = {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(), "processor": _cpu_model(),
            "cpus_usable": cpu_count(), "cpus_total": os.cpu_count(), "numpy": numpy.__version__,
            "git_commit": git_commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        info["load_average_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def time_repeats(fn: Callable[[int], None], steps: int, repeats: int) -> list[float]:
    """Wall seconds of `fn(steps)` for each of `repeats` runs."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(steps)
        out.append(time.perf_counter() - t0)
    return out


def calibrate_steps(fn: Callable[[int], None], target_s: float, lo: int = 1, hi: int = 1_000_000) -> int:
    """Steps that make one call of `fn(steps)` last about `target_s` (a warm-up call included)."""
    steps = lo
    while True:
        t0 = time.perf_counter()
        fn(steps)
        dt = time.perf_counter() - t0
        if dt >= target_s / 4 or steps >= hi:
            break
        steps = min(hi, steps * 4)
    return max(lo, min(hi, int(steps * target_s / max(dt, 1e-9))))


def si(x: float | None, digits: int = 3) -> str:
    """1234567 -> '1.23M'; None -> '-'."""
    if x is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.{digits}g}{suffix}"
    return f"{x:.{digits}g}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return f"{r:,.0f}x" if r >= 100 else f"{r:.3g}x"


def table(headers: Sequence[str], rows: Sequence[Sequence], title: str | None = None) -> str:
    """A plain-text table, numbers right-aligned; returns the text (print it)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[k]) for r in cells)) if cells else len(h) for k, h in enumerate(headers)]
    left = [not any(_numeric(r[k]) for r in cells) for k in range(len(headers))]

    def line(vals):
        return "  ".join(v.ljust(w) if lft else v.rjust(w) for v, w, lft in zip(vals, widths, left)).rstrip()

    out = [title] if title else []
    out += [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _numeric(text: str) -> bool:
    t = text.replace(",", "").replace("x", "").replace("%", "").rstrip("kMG")
    try:
        float(t)
        return True
    except ValueError:
        return False


def write_json(name: str, data: dict, path: str | Path | None = None) -> Path:
    """Write results to bench/results/<name>.json, and also to `path` when given; say where."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    targets = [RESULTS_DIR / f"{name}.json"]
    if path:
        targets.append(Path(path))
    text = json.dumps(data, indent=2, default=_jsonable)
    for p in targets:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text + "\n")
    print(f"results written to {targets[-1]}")
    return targets[-1]


def _jsonable(obj):
    try:
        import numpy as np
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
