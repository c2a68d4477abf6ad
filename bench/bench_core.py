"""Batched point-mass core: drone-steps per second, against a per-drone Python loop in the same run.

    python bench/bench_core.py            # N = 10, 100, 1000, 10000 (about a minute)
    python bench/bench_core.py --quick    # fewer, shorter repeats
    python bench/bench_core.py --sizes 100,1000 --json /tmp/core.json

Three things are timed at each N, each as the median of repeats:

- batched: `PointMassSwarm.step(v_cmd, dt, substeps=1)` on random velocity commands;
- loop (the peer): `PerDroneLoop`, the same model written as a plain per-drone Python loop
  (first checked against PointMassSwarm with np.allclose, then timed; --loop-max limits N);
- SwarmSim: `SwarmSim.step` of a generated mission (bench/scenarios.py): one control tick =
  `substeps` physics steps + metrics (KD-tree separation, contacts, obstacles, geofence),
  next to the physics alone for the same tick, so the cost of the metrics shows.

numpy and scipy are held to one thread: the figures are per core.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (calibrate_steps, machine_info, median, ratio, si, single_thread_env,  # noqa: E402
                    table, time_repeats, write_json)

single_thread_env()

import numpy as np  # noqa: E402

from sim.engine import SwarmSim  # noqa: E402
from sim.pointmass import PointMassSwarm  # noqa: E402
from swarm_ros.mission import load_mission  # noqa: E402
from swarm_ros.core.platforms import PLATFORMS  # noqa: E402

NAME = "bench_core"
SIZES = (10, 100, 1000, 10000)
LOOP_MAX = 10000                      # largest N the per-drone loop is timed at (--loop-max)
DT = 1.0 / 200.0                      # physics step of the generated missions (4 x 50 Hz)
POOL = 16                             # distinct random command arrays, cycled
TARGET = 1e6                          # drone-steps/s at N = 1000 on one core

# Measured on this kind of machine by others, not in this run (see /work/shared/ENVIRONMENT.md).
REFERENCES = [
    ("gym-pybullet-drones 2.1.0, 240 Hz, DSLPIDControl, N=10", 16.4e3, "ENVIRONMENT.md, same machine type"),
    ("gym-pybullet-drones 2.1.0, 240 Hz, DSLPIDControl, N=50", 16.6e3, "ENVIRONMENT.md, same machine type"),
    ("gym-pybullet-drones 2.1.0 + ground effect/drag/downwash, N=50", 4.0e3, "ENVIRONMENT.md, same machine type"),
    ("PyBullet p.DIRECT, per-drone state reads + rotor forces, N=10-100", 180e3, "ENVIRONMENT.md, same machine type"),
    ("Crazyswarm2 simulation", 1.5e3, "figure from the project brief; no measurement in ENVIRONMENT.md"),
]


class PerDroneLoop:
    """The point-mass model of sim/pointmass.py as a plain per-drone Python loop (floats, math).

    Same command clipping (horizontal speed, climb/descent), first-order response, acceleration
    limit (norm), semi-implicit Euler and solid ground as PointMassSwarm; state as lists of floats,
    which is the fastest way to write it drone by drone in Python.
    """

    def __init__(self, vehicles, positions, velocities=None):
        self.n = len(vehicles)
        self.max_speed = [float(v.max_speed) for v in vehicles]
        self.max_climb = [float(v.max_climb) for v in vehicles]
        self.max_descent = [float(v.max_descent) for v in vehicles]
        self.max_accel = [float(v.max_accel) for v in vehicles]
        self.inv_tau = [1.0 / float(v.response_time) for v in vehicles]
        self.position = [list(map(float, p)) for p in np.asarray(positions, float).reshape(self.n, 3)]
        vel = np.zeros((self.n, 3)) if velocities is None else np.asarray(velocities, float)
        self.velocity = [list(map(float, v)) for v in vel]

    def step(self, v_cmd, dt: float, substeps: int = 1) -> None:
        for k in range(self.n):
            cx, cy, cz = v_cmd[k]
            h = math.hypot(cx, cy)
            scale = min(1.0, self.max_speed[k] / max(h, 1e-12))
            cx *= scale
            cy *= scale
            cz = min(max(cz, -self.max_descent[k]), self.max_climb[k])
            p, v = self.position[k], self.velocity[k]
            inv_tau, amax = self.inv_tau[k], self.max_accel[k]
            for _ in range(substeps):
                ax, ay, az = (cx - v[0]) * inv_tau, (cy - v[1]) * inv_tau, (cz - v[2]) * inv_tau
                norm = math.sqrt(ax * ax + ay * ay + az * az)
                s = min(1.0, amax / max(norm, 1e-12)) * dt
                v[0] += ax * s
                v[1] += ay * s
                v[2] += az * s
                p[0] += v[0] * dt
                p[1] += v[1] * dt
                p[2] += v[2] * dt
                if p[2] < 0.0:
                    p[2] = 0.0
                    if v[2] < 0.0:
                        v[2] = 0.0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.position), np.array(self.velocity)


def make_fleet(n: int, rng: np.random.Generator):
    """Mixed vehicles (per-drone limits differ), random start positions some on the ground."""
    kinds = list(PLATFORMS.values())
    vehicles = [kinds[k % len(kinds)] for k in range(n)]
    side = max(1.0, math.sqrt(n)) * 2.0
    pos = np.column_stack([rng.uniform(-side, side, n), rng.uniform(-side, side, n), rng.uniform(0.0, 3.0, n)])
    pos[rng.random(n) < 0.2, 2] = 0.0
    return vehicles, pos


def command_pool(n: int, rng: np.random.Generator, scale: float = 4.0) -> list[np.ndarray]:
    """Random velocity commands, large enough to hit the speed, climb/descent and accel limits."""
    return [rng.normal(0.0, scale, (n, 3)) for _ in range(POOL)]


def check_loop_matches(steps: int = 50) -> dict:
    """Correctness guard: PerDroneLoop and PointMassSwarm give the same states."""
    rng = np.random.default_rng(1)
    n = 64
    vehicles, pos = make_fleet(n, rng)
    vel = rng.normal(0.0, 1.0, (n, 3))
    batched = PointMassSwarm(vehicles, pos, vel.copy())
    loop = PerDroneLoop(vehicles, pos, vel.copy())
    cmds = command_pool(n, rng)
    worst = 0.0
    for k in range(steps):
        substeps = 1 + k % 4
        batched.step(cmds[k % POOL], DT, substeps)
        loop.step(cmds[k % POOL].tolist(), DT, substeps)
        p, v = loop.arrays()
        assert np.allclose(p, batched.position, rtol=1e-9, atol=1e-12), f"positions differ after step {k}"
        assert np.allclose(v, batched.velocity, rtol=1e-9, atol=1e-12), f"velocities differ after step {k}"
        worst = max(worst, float(np.abs(p - batched.position).max()), float(np.abs(v - batched.velocity).max()))
    grounded = int((batched.position[:, 2] == 0.0).sum())
    return {"drones": n, "steps": steps, "max_abs_difference": worst, "on_ground_at_end": grounded}


def _time_steps(step, cmds, n: int, repeats: int, target_s: float) -> dict:
    """Median time of `step(cmd, DT, 1)` over a calibrated number of steps, as drone-steps/s."""
    def run(steps: int) -> None:
        for k in range(steps):
            step(cmds[k % POOL], DT, 1)

    steps = calibrate_steps(run, target_s)
    times = time_repeats(run, steps, repeats)
    t = median(times)
    return {"n": n, "steps": steps, "repeats": repeats, "seconds": times, "median_s": t,
            "us_per_step": 1e6 * t / steps, "drone_steps_per_s": n * steps / t}


def bench_batched(n: int, repeats: int, target_s: float, rng) -> dict:
    vehicles, pos = make_fleet(n, rng)
    return _time_steps(PointMassSwarm(vehicles, pos).step, command_pool(n, rng), n, repeats, target_s)


def bench_loop(n: int, repeats: int, target_s: float, rng) -> dict:
    vehicles, pos = make_fleet(n, rng)
    cmds = [c.tolist() for c in command_pool(n, rng)]   # lists: the loop's native input
    return _time_steps(PerDroneLoop(vehicles, pos).step, cmds, n, repeats, target_s)


def bench_swarmsim(n: int, repeats: int, target_s: float, rng, folder: Path) -> dict:
    from scenarios import write_scaled_mission
    mission = load_mission(write_scaled_mission(folder / f"n{n}", n, duration=60.0))
    sim = SwarmSim(mission)
    substeps, dt = mission.substeps, 1.0 / mission.physics_rate
    cmds = command_pool(n, rng, scale=0.7)   # moderate: drones lift off, few contacts

    def run_sim(steps: int) -> None:
        for k in range(steps):
            sim.step(cmds[k % POOL])

    # the physics alone for the same tick, on a twin swarm from the same start
    twin = PointMassSwarm([d.vehicle for d in mission.fleet.drones], [d.start for d in mission.fleet.drones])

    def run_physics(steps: int) -> None:
        for k in range(steps):
            twin.step(cmds[k % POOL], dt, substeps)

    steps = calibrate_steps(run_sim, target_s)
    t_sim = median(time_repeats(run_sim, steps, repeats))
    t_phys = median(time_repeats(run_physics, steps, repeats))
    return {"n": n, "mission": mission.name, "control_rate": mission.control_rate, "substeps": substeps,
            "ticks": steps, "repeats": repeats, "median_s": t_sim, "physics_median_s": t_phys,
            "us_per_tick": 1e6 * t_sim / steps, "drone_ticks_per_s": n * steps / t_sim,
            "drone_steps_per_s": n * steps * substeps / t_sim,
            "physics_drone_steps_per_s": n * steps * substeps / t_phys,
            "metrics_share": max(0.0, 1.0 - t_phys / t_sim),
            "realtime_factor": steps / mission.control_rate / t_sim,
            "collisions_seen": len(sim.metrics.collision_events)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 short repeats instead of 7 longer ones")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated N (default %(default)s)")
    ap.add_argument("--loop-max", type=int, default=LOOP_MAX,
                    help="time the per-drone loop only up to this N (default %(default)s; ~2 us per drone-step)")
    ap.add_argument("--json", metavar="PATH", help=f"also write the results here (always bench/results/{NAME}.json)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    repeats, target_s = (3, 0.05) if args.quick else (7, 0.2)
    rng = np.random.default_rng(0)
    info = machine_info()
    print(f"bench_core: {info['processor']}, {info['cpus_usable']} CPUs usable, numpy {info['numpy']}, "
          f"one thread; median of {repeats} repeats of ~{target_s:g} s each; physics dt {DT:g} s")

    guard = check_loop_matches()
    print(f"correctness guard: PerDroneLoop == PointMassSwarm on {guard['drones']} drones x {guard['steps']} steps "
          f"(substeps 1-4, limits and ground exercised): max |diff| {guard['max_abs_difference']:.1e}")

    results = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_core_") as tmp:
        for n in sizes:
            b = bench_batched(n, repeats, target_s, rng)
            loop = None
            if n <= args.loop_max:
                loop = bench_loop(n, repeats, target_s, rng)
            s = bench_swarmsim(n, repeats, target_s, rng, Path(tmp))
            results.append({"n": n, "batched": b, "loop": loop, "swarmsim": s})
            print(f"  N={n}: done ({time.perf_counter() - t_start:.0f} s)", flush=True)

    rows = []
    for r in results:
        b, lp = r["batched"], r["loop"]
        rows.append([f"{r['n']:,}", si(b["drone_steps_per_s"]), f"{b['us_per_step']:.1f}",
                     si(lp["drone_steps_per_s"]) if lp else "skipped", f"{lp['us_per_step']:.0f}" if lp else "-",
                     ratio(b["drone_steps_per_s"], lp["drone_steps_per_s"] if lp else None)])
    print()
    print(table(["N", "batched drone-steps/s", "us/step", "loop drone-steps/s", "loop us/step", "batched/loop"],
                rows, title="Physics step PointMassSwarm.step(v, dt, substeps=1) vs PerDroneLoop (same run, one core)"))
    if any(r["loop"] is None for r in results):
        print(f"loop skipped at N > {args.loop_max} (--loop-max); it costs about 2 us per drone-step")

    rows = []
    for r in results:
        s = r["swarmsim"]
        rows.append([f"{r['n']:,}", f"{s['us_per_tick']:.0f}", si(s["drone_ticks_per_s"]), si(s["drone_steps_per_s"]),
                     si(s["physics_drone_steps_per_s"]), f"{100 * s['metrics_share']:.0f}%",
                     f"{s['realtime_factor']:.3g}x"])
    print()
    print(table(["N", "us/tick", "drone-ticks/s", "drone-steps/s", "physics only", "metrics share", "RTF @50 Hz"],
                rows, title=f"SwarmSim.step: one 50 Hz tick = {results[0]['swarmsim']['substeps']} physics steps "
                            "+ metrics (KD-tree), generated sphere mission"))

    print()
    print(table(["reference (measured elsewhere, not in this run)", "drone-steps/s", "source"],
                [[name, si(v), src] for name, v, src in REFERENCES]))

    at_1000 = next((r["batched"]["drone_steps_per_s"] for r in results if r["n"] == 1000), None)
    if at_1000 is not None:
        print(f"\ntarget: >= {si(TARGET)} drone-steps/s at N=1000 on one core; this run: {si(at_1000)} "
              f"({'met' if at_1000 >= TARGET else 'NOT met'})")

    data = {"benchmark": NAME, "machine": info, "quick": args.quick, "repeats": repeats, "dt": DT,
            "correctness_guard": guard, "target": {"n": 1000, "drone_steps_per_s": TARGET, "value": at_1000,
                                                   "met": None if at_1000 is None else at_1000 >= TARGET},
            "references_not_in_this_run": [{"name": n, "drone_steps_per_s": v, "source": s} for n, v, s in REFERENCES],
            "results": results}
    write_json(NAME, data, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
