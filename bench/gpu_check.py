"""GPU check: the CuPy paths (GMT* planner, FISC-like step) against numpy, results and speed.

    python bench/gpu_check.py                  # on a machine with a CUDA GPU and CuPy: ~1-3 min
    python bench/gpu_check.py --timeout 120    # give up (exit 4) after 120 s, table so far printed
    python bench/gpu_check.py --cpu-dry-run    # no GPU: the same checks with numpy/numba standing in

1. GMT* (swarm_ros.planning.gmt.plan) on the pillar_field world, roadmaps of n samples: the CuPy
   plan must be the numpy plan (found, same cost to 1e-9 relative, same nodes); times per plan
   (obstacle set built once, outside the timing; medians of repeats).
2. FISC-like step (swarm_ros.control.fisc.fisc_command) for N agents in the channel scaled to
   hold them: CuPy commands to 1e-12 m/s of numpy and densities/pressures to 1e-9 (CuPy's
   bincount adds in no fixed order), numba too where installed; times per step.

Exit codes: 0 every result agrees; 1 a result differs; 3 no CUDA GPU or no CuPy here (nothing
checked, the reason printed); 4 the timeout ran out (what finished is printed and saved).
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, single_thread_env, table, write_json  # noqa: E402

single_thread_env()
import numpy as np  # noqa: E402

NO_GPU, TIMED_OUT = 3, 4


class TimeUp(Exception):
    pass


def gpu_reason() -> str | None:
    """Why the CuPy paths cannot run here, or None when they can."""
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install cupy-cuda12x on a machine with a CUDA GPU)"
    except Exception as err:                        # a broken install
        return f"CuPy does not import: {err}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:                        # no driver, no device
        return f"CuPy finds no CUDA device: {err}"
    return None if count > 0 else "CuPy finds no CUDA device"


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of `repeats` calls after one warm-up call, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return median(times), out


def _sync() -> None:
    if "cupy" in sys.modules:
        import cupy
        try:
            cupy.cuda.Device().synchronize()
        except Exception:
            pass


def check_gmt(sizes, device: str, repeats: int, rows: list, results: list) -> None:
    from sim.world import load_world
    from swarm_ros.core.resources import share_dir
    from swarm_ros.planning.backend import get_backend
    from swarm_ros.planning.gmt import plan
    from swarm_ros.planning.obstacles import ObstacleSet
    from swarm_ros.planning.roadmap import geometric_roadmap
    world = load_world(share_dir() / "sim" / "worlds" / "pillar_field.yaml")
    start, goal = [0, -8, 1.0], [0, 8, 2.0]
    for n in sizes:
        rm = geometric_roadmap(world.bounds_min, world.bounds_max, n, seed=2)
        got = {}
        for name in ("numpy", device):
            obs = ObstacleSet.from_world(world, 0.2, backend=get_backend(name))
            sec, res = timed(lambda: plan(rm, obs, start, goal, lam=0.5, backend=name), repeats)
            got[name] = (sec, res)
        (t0, a), (t1, b) = got["numpy"], got[device]
        same = bool(a.found == b.found and np.array_equal(a.nodes, b.nodes)
                    and (not a.found or abs(a.cost - b.cost) <= 1e-9 * max(1.0, abs(a.cost))))
        rows.append(["GMT* plan", f"n={n}", f"{1e3 * t0:.1f}", device, f"{1e3 * t1:.1f}", f"{t0 / t1:.1f}x",
                     f"cost {a.cost:.4f} / {b.cost:.4f}", "yes" if same else "NO"])
        results.append({"check": "gmt", "n": n, "numpy_s": t0, device + "_s": t1, "same": same,
                        "cost_numpy": a.cost, "cost_" + device: b.cost, "found": bool(a.found)})


def check_fisc(sizes, devices, repeats: int, rows: list, results: list) -> None:
    from sim.channel import Channel
    from swarm_ros.control.fisc import FiscParams, Limits, fisc_command
    from swarm_ros.core.platforms import PLATFORMS
    from swarm_ros.core.verlet import sorted_pairs_within
    p, lim = FiscParams(), Limits.of(PLATFORMS["crazyflie_2.1"])
    for n in sizes:
        ch = Channel().scaled_to(int(1.3 * n), p.spacing)   # room for n lattice points inside the margins
        rng = np.random.default_rng(6)
        pts = ch.lattice(p.spacing, margin=0.15)
        k = min(n, len(pts))
        pos = pts[rng.choice(len(pts), k, replace=False)] + rng.uniform(-0.15, 0.15, (k, ch.dim))
        vel = rng.normal(0.0, 0.6, pos.shape)
        pi, pj = sorted_pairs_within(pos, p.h, "numpy")
        t0, (v0, f0) = timed(lambda: fisc_command(pos, vel, pi, pj, ch, p, lim, backend="numpy"), repeats)
        for dev in devices:
            t1, (v1, f1) = timed(lambda: fisc_command(pos, vel, pi, pj, ch, p, lim, backend=dev), repeats)
            dv = float(np.abs(np.asarray(v1) - v0).max())
            drho = float(np.abs(f1.rho - f0.rho).max())
            dp = float(np.abs(f1.P - f0.P).max())
            same = dv < 1e-12 and drho < 1e-9 and dp < 1e-9
            rows.append(["FISC-like step", f"N={k}", f"{1e3 * t0:.2f}", dev, f"{1e3 * t1:.2f}", f"{t0 / t1:.1f}x",
                         f"|dv| {dv:.1e}, |drho| {drho:.1e}", "yes" if same else "NO"])
            results.append({"check": "fisc", "n": k, "pairs": len(pi), "numpy_s": t0, dev + "_s": t1,
                            "max_dv": dv, "max_drho": drho, "max_dP": dp, "same": same})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=300.0, help="s before giving up (exit 4)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gmt-sizes", default="3000,10000,30000")
    ap.add_argument("--fisc-sizes", default="1000,10000,100000")
    ap.add_argument("--cpu-dry-run", action="store_true",
                    help="no GPU needed: numpy (GMT*) and numba (FISC) stand in for CuPy, small sizes")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.cpu_dry_run:
        from swarm_ros.core.compiled import numba_available
        gmt_dev, fisc_devs = "numpy", ["numba"] if numba_available() else ["numpy"]
        gmt_sizes, fisc_sizes = [1000], [500]
    else:
        reason = gpu_reason()
        if reason:
            print(f"gpu_check: nothing checked: {reason}", file=sys.stderr)
            return NO_GPU
        from swarm_ros.core.compiled import numba_available
        gmt_dev, fisc_devs = "cupy", ["cupy"] + (["numba"] if numba_available() else [])
        gmt_sizes = [int(x) for x in args.gmt_sizes.split(",")]
        fisc_sizes = [int(x) for x in args.fisc_sizes.split(",")]

    def time_up(*_):
        raise TimeUp()
    signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    rows: list = []
    results: list = []
    code = 0
    try:
        check_gmt(gmt_sizes, gmt_dev, args.repeats, rows, results)
        check_fisc(fisc_sizes, fisc_devs, args.repeats, rows, results)
    except TimeUp:
        print(f"gpu_check: timeout after {args.timeout:g} s; the checks that finished:", file=sys.stderr)
        code = TIMED_OUT
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    device = "none (CPU dry run)"
    if not args.cpu_dry_run:
        import cupy
        device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(table(["check", "size", "numpy ms", "backend", "backend ms", "speed-up", "results", "same"], rows,
                title=f"CuPy paths against numpy on {device}"))
    if code == 0 and not all(r["same"] for r in results):
        code = 1
    print("all results agree" if code == 0 else "RESULTS DIFFER" if code == 1 else "incomplete (timeout)")
    write_json("gpu_check", {"machine": machine_info(), "device": device, "dry_run": args.cpu_dry_run,
                             "results": results, "exit_code": code}, args.json)
    return code


if __name__ == "__main__":
    sys.exit(main())
