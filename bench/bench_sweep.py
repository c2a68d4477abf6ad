"""`swarm-ros sweep` on a local Ray against the serial loop, and Ray's own cost per task.

    python bench/bench_sweep.py             # 2 controllers x 2 loss rates x 3 seeds of first_flight (12 runs)
    python bench/bench_sweep.py --quick     # 2 seeds (8 runs), fewer no-op tasks
    python bench/bench_sweep.py --workers 2 --json /tmp/sweep.json

Contenders, each over the same tasks in the same run:
- serial (the peer): the tasks one after another in this process (`run_task` in a loop: a shell
  loop around `swarm-ros headless` without the per-run interpreter start);
- ray: `run_sweep` on a local Ray with `--workers` workers (default: the usable cores), wall time
  with and without starting and stopping Ray;
- pool: `run_sweep` on a local process pool of the same size (the fallback without Ray).

Ray's overhead per task: N no-op tasks submitted at once (throughput), and one no-op task at a
time (round trip), on the same local Ray. Correctness guard: every contender must give the same
metrics for every task before anything is reported. The speed-up is bounded by the usable cores
(and by the other load on them: the load average is in the JSON).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_count, machine_info, median, ratio, single_thread_env, table, write_json  # noqa: E402

single_thread_env()
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"    # a local Ray on loopback only (read at import)

import yaml  # noqa: E402

from swarm_ros.sweep.engines import PoolEngine, RayEngine  # noqa: E402
from swarm_ros.sweep.runner import prepare, run_sweep  # noqa: E402
from swarm_ros.sweep.spec import load_sweep  # noqa: E402
from swarm_ros.sweep.task import run_task  # noqa: E402

NAME = "bench_sweep"
METRICS = ["collisions", "min_separation", "radio.delivered", "radio.lost"]


def noop(x):
    return x


def sweep_file(folder: Path, seeds: int) -> Path:
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump({
        "name": "bench", "mission": "first_flight", "seeds": seeds, "metrics": METRICS,
        "axes": {"radio.loss": [0.0, 0.3],
                 "controller": {"formation": {}, "waypoint": {"roles.inner_ring": {
                     "controller": "waypoint", "params": {"waypoints": [[0, 1, 1.5]], "relative": True}}}}}}))
    return path


def metrics_of(rows) -> dict:
    return {r["id"]: tuple(r[m] for m in METRICS) for r in rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=cpu_count())
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    seeds, noops = (2, 100) if args.quick else (3, 300)
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        tmp = Path(tmp)
        sweep = load_sweep(sweep_file(tmp, seeds))
        n = len(sweep.tasks())

        t0 = time.perf_counter()
        serial = [run_task(t) for t in prepare(sweep, tmp / "serial")]
        serial_s = time.perf_counter() - t0
        task_s = [r["wall_s"] for r in serial]

        t0 = time.perf_counter()
        engine = RayEngine(None, args.workers)
        started = time.perf_counter()
        try:
            ray_out = run_sweep(sweep, tmp / "ray", engine, parquet=False)
            swept = time.perf_counter()
            # Ray's own cost per task, on the same local Ray: many at once, and one at a time
            t1 = time.perf_counter()
            handles = [engine.submit(noop, k) for k in range(noops)]
            assert [engine.result(h) for h in handles] == list(range(noops))
            throughput_s = (time.perf_counter() - t1) / noops
            trips = []
            for k in range(30):
                t1 = time.perf_counter()
                engine.result(engine.submit(noop, k))
                trips.append(time.perf_counter() - t1)
        finally:
            t1 = time.perf_counter()
            engine.close()
            stop_s = time.perf_counter() - t1
        ray_total = swept - t0 + stop_s
        ray_sweep = swept - started

        t0 = time.perf_counter()
        engine = PoolEngine(args.workers)
        try:
            pool_out = run_sweep(sweep, tmp / "pool", engine, parquet=False)
        finally:
            engine.close()
        pool_s = time.perf_counter() - t0

        want = metrics_of(serial)
        for name, out in (("ray", ray_out), ("pool", pool_out)):
            if out.failed or metrics_of(out.rows) != want:
                raise SystemExit(f"{name} gave other metrics than the serial loop: not timed")

    rows = [["serial loop (peer)", n, 1, f"{serial_s:.1f}", "1.00x"],
            ["ray, incl. start/stop", n, args.workers, f"{ray_total:.1f}", ratio(serial_s, ray_total)],
            ["ray, sweep only", n, args.workers, f"{ray_sweep:.1f}", ratio(serial_s, ray_sweep)],
            ["process pool", n, args.workers, f"{pool_s:.1f}", ratio(serial_s, pool_s)]]
    print(table(["contender", "runs", "workers", "wall (s)", "speed-up vs serial"], rows,
                f"sweep of {n} headless runs of first_flight ({median(task_s):.2f} s median per run, serial)"))
    over = [["start + stop of the local Ray", f"{(ray_total - ray_sweep):.2f} s"],
            [f"per task, {noops} no-op tasks at once", f"{throughput_s * 1e3:.2f} ms"],
            ["per task, one no-op at a time (round trip)", f"{median(trips) * 1e3:.2f} ms"]]
    print(table(["Ray overhead", "time"], over))
    write_json(NAME, {"machine": machine_info(), "workers": args.workers, "runs": n, "serial_s": serial_s,
                      "task_s": task_s, "ray_total_s": ray_total, "ray_sweep_s": ray_sweep, "pool_s": pool_s,
                      "ray_start_stop_s": ray_total - ray_sweep, "noop_tasks": noops,
                      "ray_per_task_throughput_s": throughput_s, "ray_round_trip_s": trips}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
