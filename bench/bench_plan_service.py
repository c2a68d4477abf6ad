"""The planning service in the crossing mission: what a drone waits for a path, per vehicle and n.

Requests are the ones the crossing mission (config/missions/crossing.yaml) makes: each drone's
first plan (from its take-off hover across the pillar field to its goal) and a replan from the
middle of the field with the two walls it senses there. Columns:

- **served**: `PlanningService.answer` with the roadmap cached (as in a running planner node
  after its warm-up): obstacle masking, GMT* wavefront, path, shortcutting and timing.
- **cold** (the peer): the same request with the roadmap cache cleared first, i.e. what a
  planner that builds its roadmap per query (like OMPL's FMT*) pays; the ratio is the caching.

    python bench/bench_plan_service.py            # a few seconds
    python bench/bench_plan_service.py --quick    # n = 1000, 2000 and 2 repeats
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine_info, median, ratio, single_thread_env, table, write_json  # noqa: E402

single_thread_env()
import numpy as np  # noqa: E402

from swarm_ros.control.planned import planned_drones  # noqa: E402
from swarm_ros.mission import load_mission  # noqa: E402
from swarm_ros.planning.roadmap import _geometric  # noqa: E402
from swarm_ros.planning.service import PlanningService, encode_request, shape_record  # noqa: E402

MISSION = Path(__file__).resolve().parent.parent / "config" / "missions" / "crossing.yaml"


def requests(mission) -> list[tuple[str, int, np.ndarray]]:
    """(kind, drone, request) for one Crazyflie and one X500: first plan and a replan."""
    world = mission.world
    walls = [shape_record(o) for o, m in zip(world.ordered, world.mapped) if not m]
    out = []
    for name in ("cf2", "x1"):
        d = mission.fleet.by_name(name)
        goal = mission.roles[d.role].params.targets(np.array([d.start]))[0, -1]
        hover = np.r_[d.start[:2], mission.phases.takeoff_altitude]
        mid = np.r_[d.start[0] + 0.0, 3.0, goal[2]] if name == "x1" else np.r_[d.start[0] + 1.0, 3.0, goal[2]]
        out.append((f"{name} first", d.index, encode_request(4.0, hover, goal)))
        out.append((f"{name} replan", d.index, encode_request(12.0, mid, goal, walls)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    sizes = [1000, 2000] if args.quick else [1000, 2000, 5000]
    repeats = 2 if args.quick else args.repeats
    mission = load_mission(MISSION)
    rows = []
    for n in sizes:
        specs = {k: replace(s, samples=n) for k, s in planned_drones(mission).items()}
        service = PlanningService(mission.world, specs)
        t0 = time.perf_counter()
        service.warm_up()
        build = time.perf_counter() - t0
        for kind, drone, req in requests(mission):
            service.answer(drone, req)                          # warm: map obstacle set, imports
            served, cold = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                service.answer(drone, req)
                served.append(time.perf_counter() - t0)
                _geometric.cache_clear()
                t0 = time.perf_counter()
                service.answer(drone, req)
                cold.append(time.perf_counter() - t0)
            last = service.log[-1]
            rows.append({"n": n, "request": kind, "served_s": served, "cold_s": cold, "found": last["found"],
                         "waypoints": len(last["path"]), "duration_s": float(last["t"][-1] - last["t"][0])
                         if last["found"] else None, "warm_up_s": build})
            print(f"  n={n:>5} {kind:>11}: served {1e3 * median(served):.1f} ms, cold {1e3 * median(cold):.0f} ms",
                  flush=True)
            service.warm_up()
    body = [[r["n"], r["request"], "yes" if r["found"] else "NO", r["waypoints"],
             f"{r['duration_s']:.1f}" if r["duration_s"] else "-", f"{1e3 * median(r['served_s']):.1f}",
             f"{1e3 * median(r['cold_s']):.0f}", ratio(median(r["cold_s"]), median(r["served_s"]))] for r in rows]
    print()
    print(table(["n", "request", "found", "waypoints", "flight s", "served ms", "cold ms", "cold/served"], body,
                title=f"planning service on the crossing world (3-D, 51 obstacles); medians of {repeats}"))
    write_json("bench_plan_service", {"machine": machine_info(), "rows": rows}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
