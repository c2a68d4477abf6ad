"""`swarm-ros plan`: one GMT* query in a world file, with a vehicle's inflation (and limits).

Prints the path cost (geometric: the raw roadmap path's and the smoothed path's, which is the
one printed and written), the planning time (online query, and the offline roadmap build apart),
and whether the path keeps the vehicle's clearance under an independent dense check against the
raw world geometry (signed distances every centimetre, not the planner's exact tests).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from ..core.configfile import ConfigError

WHERE = "swarm-ros plan"
DEFAULT_SAMPLES = {"geometric": 3000, "kinodynamic": 1000}
CHECK_STEP = 0.01          # m between points of the dense clearance check


def add_parser(sub) -> None:
    p = sub.add_parser("plan", help="plan a collision-free path in a world with GMT*")
    p.add_argument("world", help="world file, or the name of an installed world (e.g. pillar_field)")
    p.add_argument("--start", nargs=3, type=float, required=True, metavar=("X", "Y", "Z"))
    p.add_argument("--goal", nargs=3, type=float, required=True, metavar=("X", "Y", "Z"))
    p.add_argument("--vehicle", default="crazyflie_2.1", help="vehicle platform (default crazyflie_2.1; an unknown name lists them)")
    p.add_argument("--samples", type=int, help="roadmap samples (default 3000; 1000 with --kinodynamic)")
    p.add_argument("--lambda", dest="lam", type=float, default=0.5, help="group factor in (0, 1] (default 0.5)")
    p.add_argument("--backend", help="numpy or cupy (default: cupy where a CUDA GPU is present)")
    p.add_argument("--kinodynamic", action="store_true",
                   help="plan a double-integrator trajectory within the vehicle's speed and acceleration limits")
    p.add_argument("--margin", type=float, default=None, help="clearance beyond the body radius, m (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="roadmap sample seed")
    p.add_argument("--no-smooth", dest="smooth", action="store_false",
                   help="geometric: keep the raw roadmap path (default: shortcut and smooth it)")
    p.add_argument("--json", help="write the result and the path to this JSON file")
    p.set_defaults(func=cmd_plan)


def _bad(arg: str, problem: str, allowed: str) -> ConfigError:
    return ConfigError(WHERE, arg, problem, allowed)


def _check_point(world, obstacles, arg: str, p, inflate: float, vehicle: str) -> None:
    import numpy as np
    q = np.asarray(p, float)[None]
    if not world.inside_fence(q)[0]:
        raise _bad(arg, f"{list(p)} is outside the geofence of world {world.name!r}",
                   f"a point within {world.bounds_min.tolist()} .. {world.bounds_max.tolist()}")
    if obstacles.points_in(q)[0]:
        d = world.obstacle_sdf(q)[0]
        name = world.obstacle_names[int(np.argmin(d))]
        where = f"inside obstacle {name!r}" if d.min() <= 0 else f"{d.min():.3g} m from obstacle {name!r}"
        raise _bad(arg, f"{list(p)} is {where}; a {vehicle} keeps {inflate:g} m",
                   f"a point at least {inflate:g} m from every obstacle")


def cmd_plan(args, console) -> int:
    import numpy as np
    from ..core.platforms import PLATFORMS
    from ..core.resources import find_world
    from sim.world import load_world
    from ..planning.backend import BackendError, get_backend
    from ..planning.obstacles import DEFAULT_MARGIN, ObstacleSet, inflation_for

    world = load_world(find_world(args.world))
    if args.vehicle not in PLATFORMS:
        raise _bad("--vehicle", f"unknown vehicle type {args.vehicle!r}", "one of " + ", ".join(PLATFORMS))
    kind = "kinodynamic" if args.kinodynamic else "geometric"
    n = args.samples if args.samples is not None else DEFAULT_SAMPLES[kind]
    if n < 10:
        raise _bad("--samples", f"got {n}", "an integer >= 10")
    if not 0 < args.lam <= 1:
        raise _bad("--lambda", f"got {args.lam:g}", "a number > 0 and <= 1")
    margin = DEFAULT_MARGIN if args.margin is None else args.margin
    if not margin >= 0:
        raise _bad("--margin", f"got {margin:g}", "a number >= 0")
    try:
        be = get_backend(args.backend)
    except BackendError as err:
        raise _bad("--backend", str(err), "numpy, or cupy on a machine with a CUDA GPU") from None
    vehicle = PLATFORMS[args.vehicle]
    inflate = inflation_for(vehicle, margin)
    obstacles = ObstacleSet.from_world(world, inflate, backend=be)
    host_obstacles = obstacles if be.name == "numpy" else ObstacleSet.from_world(world, inflate)
    _check_point(world, host_obstacles, "--start", args.start, inflate, args.vehicle)
    _check_point(world, host_obstacles, "--goal", args.goal, inflate, args.vehicle)

    if kind == "geometric":
        from ..planning.gmt import plan
        from ..planning.roadmap import geometric_roadmap
        t0 = time.perf_counter()
        rm = geometric_roadmap(world.bounds_min, world.bounds_max, n, seed=args.seed)
        offline = time.perf_counter() - t0
        res = plan(rm, obstacles, args.start, args.goal, lam=args.lam, backend=be)
        positions = res.path
        if res.found and args.smooth:
            from ..planning.smoothing import smooth
            t1 = time.perf_counter()
            positions = smooth(res.path, host_obstacles)
            res.timing["smooth"] = time.perf_counter() - t1
    else:
        from ..planning.double_integrator import Limits
        from ..planning.kinodynamic import kinodynamic_roadmap, limit_report, plan_kinodynamic
        lim = Limits.of(vehicle)
        t0 = time.perf_counter()
        rm = kinodynamic_roadmap(world.bounds_min, world.bounds_max, lim, n, seed=args.seed)
        offline = time.perf_counter() - t0
        res = plan_kinodynamic(rm, obstacles, [*args.start, 0, 0, 0], [*args.goal, 0, 0, 0], lam=args.lam,
                               backend=be)
        positions = res.trajectory["position"] if res.found else np.zeros((0, 3))
    out = {"world": world.name, "vehicle": args.vehicle, "kind": kind, "start": args.start, "goal": args.goal,
           "samples": n, "lambda": args.lam, "backend": be.name, "radius": rm.radius, "inflation": inflate,
           "found": res.found, "cost": res.cost if res.found else None, "reason": res.reason,
           "offline_ms": 1e3 * offline, "online_ms": 1e3 * res.timing["online"],
           "smooth_ms": 1e3 * res.timing.get("smooth", 0.0),
           "iterations": res.iterations, "collision_checks": res.checks}
    console.print(f"GMT* {kind} in {world.name!r} for {args.vehicle} (inflation {inflate:g} m): n = {n}, "
                  f"r = {rm.radius:.4g}, lambda = {args.lam:g}, backend {be.name}")
    console.print(f"  time: {out['online_ms']:.1f} ms online, {out['offline_ms']:.0f} ms roadmap (cached per process)")
    if not res.found:
        console.print(f"  no path: {res.reason}")
        _write(args.json, out)
        return 1
    clearance = world.path_clearance(positions, CHECK_STEP) if len(positions) else math.inf
    out.update(path=res.path[:, :3], min_clearance=clearance, collision_free=bool(clearance >= inflate - 1e-9))
    if kind == "kinodynamic":
        console.print(f"  cost: {res.cost:.4g} (time + effort), {len(res.path)} waypoints")
    else:
        from ..planning.smoothing import path_length
        smoothed = path_length(positions)
        out.update(path=positions, raw_path=res.path, raw_cost=res.cost, cost=smoothed, smoothed=args.smooth)
        line = f"  cost: raw {res.cost:.4g} m ({len(res.path)} waypoints)"
        if args.smooth:
            line += (f", smoothed {smoothed:.4g} m ({len(positions)} waypoints, "
                     f"{100 * (smoothed / res.cost - 1):+.1f} %, {out['smooth_ms']:.1f} ms)")
        console.print(line)
    if kind == "kinodynamic":
        report = limit_report(res.trajectory, lim)
        out.update(trajectory=res.trajectory, limits=report, duration=float(res.trajectory["t"][-1]))
        console.print(f"  duration {out['duration']:.2f} s; peaks " + ", ".join(
            f"{k} {report['peak'][k]:.2f}/{report['limit'][k]:g}" for k in report["peak"])
            + f" -> {'within limits' if report['within'] else 'LIMITS EXCEEDED'}")
    console.print(f"  collision-free: {'yes' if out['collision_free'] else 'NO'} "
                  f"(least clearance {clearance:.3f} m, needs {inflate:g} m; dense check every {CHECK_STEP:g} m)")
    _write(args.json, out)
    return 0


def _write(path: str | None, out: dict) -> None:
    import numpy as np
    if not path:
        return

    def plain(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, dict):
            return {k: plain(v) for k, v in o.items()}
        return o
    try:
        Path(path).write_text(json.dumps(plain(out), indent=2))
    except OSError as err:
        raise _bad("--json", f"cannot write {path}: {err}", "a writable file path") from None
