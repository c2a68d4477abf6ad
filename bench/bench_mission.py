"""Whole missions headless: controllers, safety layer, radio, beacons, metrics and physics together.

    python bench/bench_mission.py                        # N = 100, 300, 1,000 + VMAS peer (~3 min)
    python bench/bench_mission.py --sizes 100,1000,3000,10000 --duration 8
    python bench/bench_mission.py --quick                # N = 100, 300, 5 s missions
    python bench/bench_mission.py --ablate 1000          # each compiled path off in turn (~2 min)

The generated sphere mission (bench/scenarios.py: take-off, a sphere formation, landing at the
pads; 50 Hz control, radio on with 6 m range, 5 % loss, 10 Hz beacons) flown by `swarm_ros.headless.fly`,
the code `swarm-ros headless` runs. Figures per control tick: drone-steps/s = N x ticks / wall s;
real-time factor = mission s / wall s; drone-s/s = drone-steps/s / control rate (simulated
drone-seconds per wall second, comparable across control and physics rates); "per CPU s" divides
by this process's CPU time instead of wall time (steadier on a loaded machine).

Peer timed in the same run: VMAS (Vectorized Multi-Agent Simulator) on the CPU, its `navigation`
scenario with N agents in one environment (each agent to its own goal, collisions on, 12-ray
lidar, rewards; random actions; one torch thread), in a Python that has `vmas` and CPU torch
(`--vmas-python`, default: this one). VMAS vectorises over environments, not agents: its cost
per step grows as N^2, so it runs only up to `--vmas-max` agents. Quoted, not timed
here: gym-pybullet-drones 2.1.0 at N = 50, 16.6k drone-steps/s at 240 Hz = 69 drone-s/s
(ENVIRONMENT.md, same machine type).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, si, single_thread_env, table, write_json  # noqa: E402

single_thread_env()

TARGET = 1_000_000          # drone-steps/s at N = 1,000
TARGET_N = 1000
PYBULLET_QUOTE = {"name": "gym-pybullet-drones 2.1.0 (quoted, ENVIRONMENT.md)", "n": 50,
                  "steps_per_s": 16.6e3, "rate_hz": 240.0}

VMAS_SCRIPT = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
import vmas
n, steps = int(sys.argv[1]), int(sys.argv[2])
side = max(1.0, 0.3 * n ** 0.5)          # spawn area grown with N (VMAS places agents apart)
env = vmas.make_env("navigation", num_envs=1, device="cpu", continuous_actions=True, n_agents=n, seed=0,
                    world_spawning_x=side, world_spawning_y=side)
env.reset()
def act():
    return [env.get_random_action(a) for a in env.agents]
for _ in range(3):
    env.step(act())
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(steps):
    env.step(act())
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"vmas": vmas.__version__, "torch": torch.__version__, "wall_s": wall, "cpu_s": cpu, "steps": steps,
                  "dt": float(env.scenario.world.dt)}))
"""


def fly_once(n: int, duration: float) -> dict:
    from scenarios import write_scaled_mission
    from swarm_ros.headless import fly
    from swarm_ros.mission import load_mission
    with tempfile.TemporaryDirectory() as tmp:
        mission = load_mission(write_scaled_mission(Path(tmp), n, duration=duration))
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    sim = fly(mission)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    s = sim.summary()
    return {"n": n, "ticks": sim.tick, "wall_s": wall, "cpu_s": cpu, "control_rate": mission.control_rate,
            "sim_s": sim.t, "collisions": s["collisions"], "delivered": s["radio"]["delivered"],
            "min_separation": s["min_separation"]}


def vmas_run(python: str, n: int, steps: int, timeout: float) -> dict:
    try:
        out = subprocess.run([python, "-c", VMAS_SCRIPT, str(n), str(steps)], capture_output=True, text=True,
                             timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"error": f"{type(err).__name__}: {err}"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {out.returncode}: {last}"}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["steps_per_s"] = n * r["steps"] / r["wall_s"]
    r["steps_per_cpu_s"] = n * r["steps"] / r["cpu_s"]
    return r


def ablate(n: int, duration: float) -> None:
    """The mission at N with each compiled path switched off in turn (numpy reference instead):
    what each one buys, in the same run."""
    from sim import metrics_jit, radio_jit, sense_jit
    from swarm_ros.control import beacons_jit, safety_jit
    switches = [("all compiled paths on", None, None, None),
                ("safety + formation in numpy", safety_jit, "use_compiled", lambda n: False),
                ("radio links by KD-tree, regroup by sort", radio_jit, "MIN_SENDERS", 10 ** 12),
                ("beacon memory by sort, not merge + expiry pass", beacons_jit, "MIN_ROWS", 10 ** 12),
                ("metrics by KD-tree", metrics_jit, "MIN_DRONES", 10 ** 12),
                ("obstacle sensing in numpy", sense_jit, "MIN_DRONES", 10 ** 12)]
    rows, base = [], None
    for name, module, attr, value in switches:
        old = getattr(module, attr) if module else None
        if module:
            setattr(module, attr, value)
        try:
            r = fly_once(n, duration)
        finally:
            if module:
                setattr(module, attr, old)
        rate = n * r["ticks"] / r["cpu_s"]
        base = base or rate
        rows.append([name, si(n * r["ticks"] / r["wall_s"]), si(rate), f"{base / rate:.2f}x"])
    print(table(["variant", "drone-steps/s", "per CPU s", "all-on is faster by"], rows,
                title=f"What each compiled path buys: N = {n}, {duration:g} s sphere mission"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,300,1000", help="comma-separated swarm sizes")
    ap.add_argument("--duration", type=float, default=10.0, help="mission length in s (take-off is 3 s)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size below 1,000 drones (median)")
    ap.add_argument("--large-repeats", type=int, default=1,
                    help="runs per size from 1,000 drones (median; more on a noisy machine)")
    ap.add_argument("--quick", action="store_true", help="N = 100, 300; 5 s missions; one run each")
    ap.add_argument("--vmas-python", default=sys.executable, help="a Python with vmas and CPU torch")
    ap.add_argument("--vmas-steps", type=int, default=1000, help="VMAS agent-steps timed per size (>= 2 steps)")
    ap.add_argument("--vmas-max", type=int, default=300, help="largest N run on VMAS")
    ap.add_argument("--no-vmas", action="store_true", help="skip the VMAS peer")
    ap.add_argument("--ablate", type=int, metavar="N", help="only: each compiled path off in turn at N drones")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    sizes = [100, 300] if args.quick else [int(x) for x in args.sizes.split(",")]
    duration = 5.0 if args.quick else args.duration
    repeats = 1 if args.quick else args.repeats

    fly_once(80, 4.0)    # imports, compiled kernels (64 drones and more)
    if args.ablate:
        ablate(args.ablate, duration)
        return 0
    rows, runs, peers = [], [], {}
    for n in sizes:
        reps = [fly_once(n, duration) for _ in range(repeats if n < 1000 else args.large_repeats)]
        runs.extend(reps)
        wall = median([r["wall_s"] for r in reps])
        r = reps[0]
        rate = n * r["ticks"] / wall
        peer = None
        if not args.no_vmas:
            peer = vmas_run(args.vmas_python, n, max(2, args.vmas_steps // n), timeout=300) if n <= args.vmas_max \
                else {"error": f"not run (N > --vmas-max {args.vmas_max})"}
            peers[n] = peer
        target = f">= {si(TARGET)} (N={TARGET_N})" if n == TARGET_N else ""
        cpu_rate = n * r["ticks"] / median([x["cpu_s"] for x in reps])
        rows.append([n, si(rate), si(cpu_rate), f"{si(rate / r['control_rate'])}", f"{r['sim_s'] / wall:.2f}",
                     r["collisions"], target,
                     si(peer["steps_per_s"]) if peer and "error" not in peer else (peer or {}).get("error", "skipped")[:60],
                     f"{rate / peer['steps_per_s']:.1f}x" if peer and "error" not in peer else ""])
        print(f"N={n}: {si(rate)} drone-steps/s", file=sys.stderr, flush=True)
    q = PYBULLET_QUOTE
    print(table(["N", "drone-steps/s", "per CPU s", "drone-s/s", "real time x", "collisions", "target", "VMAS navigation steps/s",
                 "ours/VMAS"], rows,
                title=f"Whole missions headless: sphere scenario, {duration:g} s, 50 Hz control, radio on"))
    print(f"quoted: {q['name']}, N={q['n']}: {si(q['steps_per_s'])} drone-steps/s at {q['rate_hz']:g} Hz = "
          f"{q['steps_per_s'] / q['rate_hz']:.0f} drone-s/s")
    at_target = [r for r in runs if r["n"] == TARGET_N]
    if at_target:
        best = max(TARGET_N * r["ticks"] / r["wall_s"] for r in at_target)
        cpu = max(TARGET_N * r["ticks"] / r["cpu_s"] for r in at_target)
        print(f"target >= {si(TARGET)} drone-steps/s at N = {TARGET_N}: {si(best)} wall, {si(cpu)} per CPU s -> "
              f"{'met' if best >= TARGET else 'missed'}")
    path = write_json("bench_mission", {"machine": machine_info(), "duration_s": duration, "runs": runs,
                                        "vmas": {str(k): v for k, v in peers.items()}, "quoted": [q],
                                        "target": {"n": TARGET_N, "drone_steps_per_s": TARGET}}, args.json)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
