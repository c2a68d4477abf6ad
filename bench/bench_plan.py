"""GMT* (swarm_ros.planning, numpy) against OMPL's FMT* on the same problems and sample counts.

Problems: T1 (2-D unit square, three boxes; SEED_METHODS 3.6) at n = 1k, 2k, 5k, 10k, and 3-D
unit-cube fields of 10 to 500 random boxes at n = 5000. For every problem OMPL gets as many free
samples as our roadmap keeps after masking and the same connection radius (its multiplier is
calibrated from the radius it logs), path length as objective, and a Python validity checker
with the same grid broad phase as ours.

Collision checking differs in kind: ours is exact per segment; OMPL's tests states every
`resolution * extent` along an edge. Two OMPL columns: its default resolution (1 %, which lets
paths cut corners: counted by a dense signed-distance check of every returned path), and a
matched one: steps of h = 0.002 with obstacles grown by h / 2, so that its paths keep the same
guarantee as ours (a chord of length h between two free states of a convex obstacle's outside
can enter it by at most h / 2). Ratios use the matched column.

Times: ours is split into offline (roadmap: samples, neighbours, costs; cached per process and
reused by every query) and online (masking, wavefront, path). OMPL FMT* does all of it per
query. With numba installed ours runs its compiled twins (gmt_jit.py, obstacles_jit.py,
roadmap_jit.py; the same results as the numpy code, whose query time is printed beside); both
sides get an untimed warm-up call (ours: numba loads or compiles its kernels, OMPL: the run that
learns its radius). "speed-up" compares online times; "incl. offline" adds our roadmap build
(target: >= 10x).
"incl. offline CPU" is the same ratio in process CPU time (both run single-threaded): on a shared,
loaded machine the wall clock of a short query mostly measures the other processes.

Path quality (second table): cluttered 3-D fields of 40 boxes (seeds not used elsewhere), our
n = 4000 path raw and after `smooth` (the CLI's post-processing) against a reference optimum,
the smoothed path of a dense run (n = 40,000, another sample seed). Target: smoothed <= 5 %
above the reference.

    python bench/bench_plan.py                 # about 2-3 minutes
    python bench/bench_plan.py --quick         # n <= 5000, fewer obstacle counts
    python bench/bench_plan.py --profile       # where our online time goes (cProfile)
    python bench/bench_plan.py --profile-build # roadmap build by stage, lexsort vs sparse CSR
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine_info, median, ratio, single_thread_env, table, write_json  # noqa: E402

single_thread_env()
import numpy as np  # noqa: E402

from sim.world import Box, World  # noqa: E402
from swarm_ros.core.compiled import numba_available  # noqa: E402
from swarm_ros.planning.gmt import plan  # noqa: E402
from swarm_ros.planning.obstacles import ObstacleSet  # noqa: E402
from swarm_ros.planning.roadmap import _geometric, geometric_roadmap, with_endpoints  # noqa: E402
from swarm_ros.planning.smoothing import path_length, smooth  # noqa: E402

MATCHED_STEP = 0.002
TARGET_SPEEDUP = 10.0          # OMPL FMT* time / (our online + roadmap build)
TARGET_EXCESS = 0.05           # smoothed n = 4000 path above the dense reference
QUALITY_SEEDS = (101, 102, 103, 104, 105)
QUALITY_N, REFERENCE_N = 4000, 40000
T1_BOXES = ([[0.05, 0.20], [0.70, 0.30], [0.30, 0.60]], [[0.45, 0.35], [0.90, 0.50], [0.80, 0.75]])


def t1_problem():
    return dict(name="T1 2-D", lo=[0, 0], hi=[1, 1], box_lo=np.array(T1_BOXES[0]), box_hi=np.array(T1_BOXES[1]),
                start=[0.1, 0.1], goal=[0.9, 0.9])


def box_field(m: int, seed: int = 0):
    """m random boxes filling about 20 % of the unit cube, start and goal corners kept clear."""
    rng = np.random.default_rng(seed)
    side = (0.2 / m) ** (1 / 3)
    start, goal = np.array([0.05] * 3), np.array([0.95] * 3)
    lo, hi = [], []
    while len(lo) < m:
        c, h = rng.uniform(0, 1, 3), side * rng.uniform(0.35, 0.65, 3)
        if all(np.any(np.abs(p - c) > h + 0.03) for p in (start, goal)):
            lo.append(c - h), hi.append(c + h)
    return dict(name=f"{m} boxes 3-D", lo=[0, 0, 0], hi=[1, 1, 1], box_lo=np.array(lo), box_hi=np.array(hi),
                start=start.tolist(), goal=goal.tolist())


def raw_world(pb) -> World:
    d = len(pb["lo"])
    pad = (lambda v, z: list(v) + [z]) if d == 2 else (lambda v, z: list(v))
    boxes = [Box(f"b{k}", tuple(pad((a + b) / 2, 0.0)), tuple(pad(b - a, 10.0)))
             for k, (a, b) in enumerate(zip(pb["box_lo"], pb["box_hi"]))]
    return World(pb["name"].replace(" ", "_"), pad(pb["lo"], -5), pad(pb["hi"], 5), boxes)


class PointChecker:
    """Pure-Python state validity for OMPL: the same uniform grid of box lists as ours."""

    def __init__(self, box_lo, box_hi, lo, cells: int = 32):
        self.lo, self.h, self.cells, self.d = np.asarray(lo, float), 1.0 / cells, cells, len(lo)
        self.grid: dict[tuple, list] = {}
        for a, b in zip(box_lo, box_hi):
            c0 = np.clip(((a - self.lo) / self.h).astype(int), 0, cells - 1)
            c1 = np.clip(((b - self.lo) / self.h).astype(int), 0, cells - 1)
            for idx in np.ndindex(*(c1 - c0 + 1)):
                self.grid.setdefault(tuple(int(x) for x in c0 + idx), []).append((tuple(a), tuple(b)))
        self.calls = 0

    def __call__(self, s) -> bool:
        self.calls += 1
        d, h, n = self.d, self.h, self.cells - 1
        p = [s[k] for k in range(d)]
        key = tuple(min(max(int(p[k] / h), 0), n) for k in range(d))
        for a, b in self.grid.get(key, ()):
            if all(a[k] <= p[k] <= b[k] for k in range(d)):
                return False
        return True


def run_ompl(pb, n_free: int, radius: float, step: float | None, grow: float, seconds: float = 60.0):
    """One OMPL FMT* solve; returns (wall s, path length, path, radius OMPL used, validity calls)."""
    from ompl import base as ob, geometric as og
    d = len(pb["lo"])
    space = ob.RealVectorStateSpace(d)
    bounds = ob.RealVectorBounds(d)
    for k in range(d):
        bounds.setLow(k, float(pb["lo"][k]))
        bounds.setHigh(k, float(pb["hi"][k]))
    space.setBounds(bounds)
    ss = og.SimpleSetup(space)
    checker = PointChecker(pb["box_lo"] - grow, pb["box_hi"] + grow, pb["lo"])
    ss.setStateValidityChecker(checker)
    si = ss.getSpaceInformation()
    if step is not None:
        si.setStateValidityCheckingResolution(step / space.getMaximumExtent())
    start, goal = space.allocState(), space.allocState()
    for k in range(d):
        start[k], goal[k] = float(pb["start"][k]), float(pb["goal"][k])
    ss.setStartAndGoalStates(start, goal)
    planner = og.FMT(si)
    planner.setNumSamples(n_free)
    planner.setNearestK(False)
    planner.setRadiusMultiplier(pb.get("_mult", 1.5))
    ss.setPlanner(planner)
    ss.setOptimizationObjective(ob.PathLengthOptimizationObjective(si))
    c0 = time.process_time()
    log = _capture_output(lambda: ss.solve(seconds))
    cpu = time.process_time() - c0
    t = ss.getLastPlanComputationTime()
    pb.setdefault("_cpu", []).append(cpu)
    used = re.findall(r"Using radius of ([0-9.eE+-]+)", log)
    if not ss.haveExactSolutionPath():
        return t, float("nan"), None, float(used[-1]) if used else float("nan"), checker.calls
    path = ss.getSolutionPath()
    pts = np.array([[path.getState(i)[k] for k in range(d)] for i in range(path.getStateCount())])
    return t, float(path.length()), pts, float(used[-1]) if used else float("nan"), checker.calls


def _capture_output(fn) -> str:
    """OMPL logs from C++ to fd 1 and 2: read it back (to learn the radius it used)."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as f:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            fn()
        finally:
            for fd, old in zip((1, 2), saved):
                os.dup2(old, fd)
                os.close(old)
        f.seek(0)
        return f.read().decode(errors="replace")


def bench_one(pb, n: int, lam: float, repeats: int) -> dict:
    obs = ObstacleSet(pb["lo"], pb["hi"], pb["box_lo"], pb["box_hi"])
    lo, hi = tuple(map(float, pb["lo"])), tuple(map(float, pb["hi"]))
    builds, builds_cpu = [], []
    _geometric.__wrapped__(lo, hi, n, 0, "halton", None)            # warm-up, untimed
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        _geometric.__wrapped__(lo, hi, n, 0, "halton", None)        # offline, uncached
        builds.append(time.perf_counter() - t0)
        builds_cpu.append(time.process_time() - c0)
    offline = median(builds)
    rm = geometric_roadmap(pb["lo"], pb["hi"], n)
    runs, online_cpu = [], []
    for _ in range(repeats + 1):
        c0 = time.process_time()
        runs.append(plan(rm, obs, pb["start"], pb["goal"], lam=lam))
        online_cpu.append(time.process_time() - c0)
    runs, online_cpu = runs[1:], online_cpu[1:]
    ours = runs[-1]
    ref_obs = ObstacleSet(pb["lo"], pb["hi"], pb["box_lo"], pb["box_hi"])
    ref_obs.compiled = False                                # the numpy reference of the same query
    ref_cpu = []
    for _ in range(repeats + 1):
        c0 = time.process_time()
        ref = plan(rm, ref_obs, pb["start"], pb["goal"], lam=lam, compiled=False)
        ref_cpu.append(time.process_time() - c0)
    if ref.cost != ours.cost or not np.array_equal(ref.nodes, ours.nodes):
        raise RuntimeError(f"{pb['name']} n={n}: the compiled and numpy queries differ")
    g = with_endpoints(rm, pb["start"], pb["goal"])
    n_free = int((~obs.points_in(g.points[:-2])).sum())
    world = raw_world(pb)
    row = dict(problem=pb["name"], n=n, obstacles=len(pb["box_lo"]), n_free=n_free, radius=rm.radius, lam=lam,
               compiled=numba_available(),
               ours_online_s=[r.timing["online"] for r in runs], ours_offline_s=offline, ours_builds_s=builds,
               ours_online_cpu_s=online_cpu, ours_offline_cpu_s=median(builds_cpu),
               numpy_online_cpu_s=ref_cpu[1:],
               ours_cost=ours.cost,
               ours_found=ours.found,
               ours_clearance=world.path_clearance(ours.path, 2e-4) if ours.found else None,
               ours_breakdown_s={k: median([r.timing[k] for r in runs]) for k in ours.timing})
    for label, step, grow in (("matched", MATCHED_STEP, MATCHED_STEP / 2), ("default", None, 0.0)):
        pb["_mult"] = 1.5
        _, _, _, used, _ = run_ompl(pb, n_free, rm.radius, step, grow)      # warm-up: learn its radius
        pb["_mult"] = 1.5 * rm.radius / used if used == used else 1.5
        pb["_cpu"] = []
        res = [run_ompl(pb, n_free, rm.radius, step, grow) for _ in range(repeats)]
        costs = [c for _, c, _, _, _ in res]
        paths = [p for _, _, p, _, _ in res if p is not None]
        row[f"ompl_{label}"] = dict(times_s=[t for t, *_ in res], cpu_s=list(pb["_cpu"]), costs=costs,
                                    radius=[r for *_, r, _ in res],
                                    validity_calls=[c for *_, c in res],
                                    colliding_paths=sum(world.path_clearance(p, 2e-4) < -1e-9 for p in paths),
                                    paths=len(paths))
    return row


def path_quality(lam: float, seeds=QUALITY_SEEDS) -> list[dict]:
    """Raw and smoothed n = 4000 path lengths against a dense reference on 40-box fields."""
    rows = []
    for seed in seeds:
        pb = box_field(40, seed)
        obs = ObstacleSet(pb["lo"], pb["hi"], pb["box_lo"], pb["box_hi"])
        res = plan(geometric_roadmap(pb["lo"], pb["hi"], QUALITY_N), obs, pb["start"], pb["goal"], lam=lam)
        t0 = time.perf_counter()
        sm = smooth(res.path, obs)
        t_smooth = time.perf_counter() - t0
        dense = plan(geometric_roadmap(pb["lo"], pb["hi"], REFERENCE_N, seed=1), obs, pb["start"], pb["goal"], lam=lam)
        ref = path_length(smooth(dense.path, obs))
        rows.append(dict(seed=seed, raw=res.cost, smoothed=path_length(sm), reference=ref, dense_raw=dense.cost,
                         smooth_s=t_smooth, clearance=raw_world(pb).path_clearance(sm, 2e-4)))
    return rows


def profile_ours(n: int = 5000, lam: float = 0.5) -> str:
    pb = t1_problem()
    obs = ObstacleSet(pb["lo"], pb["hi"], pb["box_lo"], pb["box_hi"])
    rm = geometric_roadmap(pb["lo"], pb["hi"], n)
    plan(rm, obs, pb["start"], pb["goal"], lam=lam)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        plan(rm, obs, pb["start"], pb["goal"], lam=lam)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(14)
    return out.getvalue()


def lexsort_csr(n: int, src, dst, *data):
    """The roadmap's former CSR construction (one global lexsort), kept as the build's peer."""
    order = np.lexsort((dst, src))
    ptr = np.zeros(n + 1, np.intp)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return (ptr, dst[order].astype(np.intp), *(x[order] for x in data))


def profile_build(repeats: int = 7) -> str:
    """Roadmap build stages (best of `repeats`, ms), and both CSR constructions on the same pairs."""
    from scipy.spatial import cKDTree
    from swarm_ros.planning import roadmap_jit
    from swarm_ros.planning.roadmap import code_radius, csr_from_pairs, draw_samples, edge_lengths

    def best(fn):
        times, out = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return 1e3 * min(times), out

    body = []
    for d, n in ((2, 1000), (2, 5000), (2, 10000), (3, 5000)):
        lo, hi = (0.0,) * d, (1.0,) * d
        t_s, pts = best(lambda: draw_samples(n, lo, hi, 0))
        r = code_radius(n, lo, hi)
        t_t, tree = best(lambda: cKDTree(pts, balanced_tree=False))      # as the roadmap builds it
        t_p, pairs = best(lambda: tree.query_pairs(r, output_type="ndarray"))
        i, j = pairs[:, 0], pairs[:, 1]
        t_rows, w_rows = best(lambda: np.sqrt(((pts[i] - pts[j]) ** 2).sum(axis=1)))
        t_c, w = best(lambda: edge_lengths(pts, i, j))
        args = (n, np.r_[i, j], np.r_[j, i], np.r_[w, w])
        t_old, a = best(lambda: lexsort_csr(*args))
        t_new, b = best(lambda: csr_from_pairs(*args))
        same = all(np.array_equal(x, y) for x, y in zip(a, b)) and np.array_equal(w, w_rows)
        t_jit = float("nan")
        if roadmap_jit.usable(n):
            roadmap_jit.symmetric_csr(n, i, j, pts)                     # compile or load, untimed
            t_jit, c = best(lambda: roadmap_jit.symmetric_csr(n, i, j, pts))
            same = same and all(np.array_equal(x, y) for x, y in zip(b, c))
        before = t_s + t_t + t_p + t_rows + t_old
        after = t_s + t_t + t_p + (t_jit if t_jit == t_jit else t_c + t_new)
        body.append([f"{d}-D", n, len(i), f"{t_s:.2f}", f"{t_t:.2f}", f"{t_p:.2f}", f"{t_rows:.2f}", f"{t_c:.2f}",
                     f"{t_old:.2f}", f"{t_new:.2f}", f"{t_jit:.2f}", f"{before:.1f}", f"{after:.1f}",
                     ratio(before, after), "yes" if same else "NO"])
    return table(["space", "n", "pairs", "samples", "KD-tree", "pairs", "costs rows", "costs columns",
                  "CSR lexsort", "CSR sparse", "costs+CSR numba", "before", "after", "gain", "identical"], body,
                 title=f"roadmap build stages, ms (best of {repeats}); before: row costs + lexsort CSR; "
                       "after: numba costs+CSR where installed, else column costs + sparse CSR")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lam", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="profile our online query (T1, n = 5000) and exit")
    ap.add_argument("--profile-build", action="store_true", help="time the roadmap build by stage and exit")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.profile_build:
        print(profile_build())
        return 0
    if args.profile:
        print(profile_ours(lam=args.lam))
        return 0
    try:
        import ompl  # noqa: F401
    except ImportError:
        print("OMPL is not installed: pip install 'ompl>=2' (or pip install -e '.[bench]')", file=sys.stderr)
        return 2
    sizes = [1000, 2000, 5000] if args.quick else [1000, 2000, 5000, 10000]
    fields = [10, 100, 500] if args.quick else [10, 50, 200, 500]
    cases = [(t1_problem(), n) for n in sizes] + [(box_field(m), 5000) for m in fields]
    rows = []
    for pb, n in cases:
        rows.append(bench_one(pb, n, args.lam, args.repeats))
        r = rows[-1]
        print(f"  {r['problem']:>14} n={n:>5}: ours {1e3 * median(r['ours_online_s']):.1f} ms, "
              f"OMPL {1e3 * median(r['ompl_matched']['times_s']):.1f} ms", flush=True)
    headers = ["problem", "n", "free", "ours ms", "numpy CPU ms", "offline ms", "OMPL ms", "OMPL 1% ms", "speed-up",
               "incl. offline", f"target >= {TARGET_SPEEDUP:g}x", "incl. offline CPU", "cost ratio", "OMPL 1% cuts"]
    body = []
    for r in rows:
        on, off = median(r["ours_online_s"]), r["ours_offline_s"]
        om, od = median(r["ompl_matched"]["times_s"]), median(r["ompl_default"]["times_s"])
        body.append([r["problem"], r["n"], r["n_free"], f"{1e3 * on:.1f}", f"{1e3 * median(r['numpy_online_cpu_s']):.1f}",
                     f"{1e3 * off:.1f}", f"{1e3 * om:.1f}",
                     f"{1e3 * od:.1f}", ratio(om, on), ratio(om, on + off),
                     "met" if om / (on + off) >= TARGET_SPEEDUP else "MISSED",
                     ratio(median(r["ompl_matched"]["cpu_s"]), median(r["ours_online_cpu_s"]) + r["ours_offline_cpu_s"]),
                     f"{r['ours_cost'] / median(r['ompl_matched']['costs']):.4f}",
                     f"{r['ompl_default']['colliding_paths']}/{r['ompl_default']['paths']}"])
    print()
    kind = "numpy + numba" if numba_available() else "numpy"
    print(table(headers, body, title=f"GMT* (lambda = {args.lam:g}, {kind}, online) vs OMPL FMT* "
                                     f"(matched resolution {MATCHED_STEP:g}); medians of {args.repeats}"))
    quality = path_quality(args.lam, QUALITY_SEEDS[:3] if args.quick else QUALITY_SEEDS)
    print()
    print(table(["field", "raw", "smoothed", "reference", "raw excess", "smoothed excess",
                 f"target <= {100 * TARGET_EXCESS:g} %", "smooth ms", "clearance"],
                [[f"40 boxes, seed {q['seed']}", f"{q['raw']:.4f}", f"{q['smoothed']:.4f}", f"{q['reference']:.4f}",
                  f"{100 * (q['raw'] / q['reference'] - 1):+.2f} %", f"{100 * (q['smoothed'] / q['reference'] - 1):+.2f} %",
                  "met" if q["smoothed"] <= (1 + TARGET_EXCESS) * q["reference"] else "MISSED",
                  f"{1e3 * q['smooth_s']:.1f}", f"{q['clearance']:.4f}"] for q in quality],
                title=f"path length at n = {QUALITY_N} (lambda = {args.lam:g}) vs the smoothed n = {REFERENCE_N} "
                      "reference"))
    write_json("bench_plan", {"machine": machine_info(), "lambda": args.lam, "matched_step": MATCHED_STEP,
                              "target_speedup_incl_offline": TARGET_SPEEDUP, "target_excess": TARGET_EXCESS,
                              "rows": rows, "path_quality": quality}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
