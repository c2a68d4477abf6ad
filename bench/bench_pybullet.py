"""PyBullet backend throughput, MPC solve times, and ROS in the loop on the rigid-body backend.

    python bench/bench_pybullet.py              # N = 10, 50, 100; MPC; ROS at 20 drones (~3 min)
    python bench/bench_pybullet.py --quick      # N = 10, 50; MPC; no ROS run (~40 s)

1. Drone-steps/s (drones x physics steps per wall second), physics at 240 Hz, position control
   at 48 Hz (every drone climbs 1 m and holds), Crazyflie 2.1, one core, in the same run:
   - ours: sim.rigidbody.RigidBodySwarm, the batched numpy flight controller at every physics
     step, one net force + torque call per drone; with all aerodynamics, and with none;
   - peer "per-drone PID loop": written here with the structure of gym-pybullet-drones (which is
     not on this machine's package index, so it cannot be timed here): a Python controller called
     once per drone at the control rate (attitude and thrust from the position error, small numpy
     per drone), rotor forces applied per rotor (four force calls + one yaw torque per drone and
     physics step), and with aerodynamics on: ground effect and drag per drone and downwash by a
     Python loop over drone pairs. Same URDF, same state reads, same physics steps.
   A guard checks that both loops actually hold every drone at its target height.
   Context, not timed here: ENVIRONMENT.md measured gym-pybullet-drones 2.1.0 at 16.4k / 16.6k
   drone-steps/s (N = 10 / 50) and 7.5k / 4.0k with its aerodynamics on.
2. MPC (swarm_ros.control.mpc): solve time median and p99 per QP solver, closed loop to a target
   5.8 m away (Crazyflie and X500 limits), warm-started, 300 solves each.
3. ROS in the loop: a 20-drone mission (bench/scenarios.py) on the pybullet backend through
   `swarm-ros launch`'s runner, lockstep and real time (as bench/bench_ros.py does).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_count, machine_info, median, ratio, si, single_thread_env, table, write_json  # noqa: E402

single_thread_env()
import numpy as np  # noqa: E402

from peer_pid_loop import PerDronePIDLoop  # noqa: E402
from sim.rigidbody import RigidBodySwarm  # noqa: E402
from sim.rigidbody_spec import Aero  # noqa: E402
from swarm_ros.core.platforms import PLATFORMS, find_platform  # noqa: E402

NAME = "bench_pybullet"
PHYSICS_HZ, CONTROL_HZ = 240.0, 48.0
SUBSTEPS = int(PHYSICS_HZ / CONTROL_HZ)
TARGET = {"n": 50, "drone_steps_per_s": 50_000, "ros_n": 20, "ros_rtf": 1.0}
PLATFORM = "crazyflie_2.1"
GUARD_HEIGHT = 0.15    # m: after 3 s of settling every drone of every loop holds its height this well


class _Drone:
    def __init__(self, start):
        self.platform, self.vehicle, self.start = PLATFORM, PLATFORMS[PLATFORM], tuple(start)
        self.airframe = find_platform(PLATFORM).airframe


def grid(n: int) -> np.ndarray:
    side = math.ceil(math.sqrt(n))
    return np.array([[(k % side) * 0.6, (k // side) * 0.6, 0.0] for k in range(n)])


def run_ours(n: int, seconds: float, aero: Aero) -> dict:
    starts = grid(n)
    swarm = RigidBodySwarm([_Drone(s) for s in starts], aero=aero)
    target = starts + [0.0, 0.0, 1.0]
    ticks = int(seconds * CONTROL_HZ)

    def fly(k):
        for _ in range(k):
            swarm.step(1.5 * (target - swarm.position), 1.0 / PHYSICS_HZ, SUBSTEPS)
    fly(int(3 * CONTROL_HZ))                     # take off and settle (not timed)
    t0 = time.perf_counter()
    fly(ticks)
    wall = time.perf_counter() - t0
    err = float(np.abs(swarm.position[:, 2] - target[:, 2]).max())
    swarm.close()
    return {"wall_s": wall, "drone_steps_per_s": n * ticks * SUBSTEPS / wall, "max_height_error": err}


def run_peer(n: int, seconds: float, aero: bool) -> dict:
    starts = grid(n)
    loop = PerDronePIDLoop(starts, PLATFORM, aero=aero)
    target = starts + [0.0, 0.0, 1.0]
    ticks = int(seconds * CONTROL_HZ)
    loop.run(target, int(3 * CONTROL_HZ), SUBSTEPS, 1.0 / PHYSICS_HZ)
    t0 = time.perf_counter()
    loop.run(target, ticks, SUBSTEPS, 1.0 / PHYSICS_HZ)
    wall = time.perf_counter() - t0
    err = float(np.abs(loop.position()[:, 2] - target[:, 2]).max())
    loop.close()
    return {"wall_s": wall, "drone_steps_per_s": n * ticks * SUBSTEPS / wall, "max_height_error": err}


def bench_physics(sizes, seconds: float, repeats: int) -> list[dict]:
    rows = []
    for n in sizes:
        r = {"n": n}
        for key, fn in (("ours_aero", lambda: run_ours(n, seconds, Aero())),
                        ("ours_plain", lambda: run_ours(n, seconds, Aero(False, False, False))),
                        ("peer_aero", lambda: run_peer(n, seconds, True)),
                        ("peer_plain", lambda: run_peer(n, seconds, False))):
            runs = [fn() for _ in range(repeats)]
            r[key] = {"runs": runs, "drone_steps_per_s": median([x["drone_steps_per_s"] for x in runs]),
                      "max_height_error": max(x["max_height_error"] for x in runs)}
        print(f"  N={n}: ours {si(r['ours_aero']['drone_steps_per_s'])} (aero) / {si(r['ours_plain']['drone_steps_per_s'])}"
              f", peer {si(r['peer_aero']['drone_steps_per_s'])} / {si(r['peer_plain']['drone_steps_per_s'])} "
              "drone-steps/s", flush=True)
        rows.append(r)
    return rows


def bench_mpc(solves: int) -> list[dict]:
    from swarm_ros.control.mpc import SOLVERS, MPCParams, PositionMPC
    out = []
    for platform in ("crazyflie_2.1", "px4_x500"):
        for solver in SOLVERS:
            mpc = PositionMPC(PLATFORMS[platform], MPCParams(solver=solver))
            ref = np.tile([4.0, -3.0, 2.0], (mpc.params.horizon, 1))
            p, v, times, ok = np.zeros(3), np.zeros(3), [], 0
            for _ in range(solves):
                t0 = time.perf_counter()
                acc = mpc.solve(p, v, ref, np.zeros_like(ref))
                times.append(time.perf_counter() - t0)
                ok += bool(mpc.qp.stats()["success"])
                p, v = p + v * 0.02 + 0.5 * acc[0] * 4e-4, v + acc[0] * 0.02
            out.append({"platform": platform, "solver": solver, "median_ms": 1e3 * median(times),
                        "p99_ms": 1e3 * float(np.percentile(times, 99)), "solved": ok, "solves": solves,
                        "final_error_m": float(np.linalg.norm(p - ref[0]))})
    return out


def bench_ros_loop(n: int, duration: float) -> dict:
    import yaml
    from bench_ros import headless, ros
    from scenarios import write_scaled_mission
    from swarm_ros.mission import load_mission
    with tempfile.TemporaryDirectory(prefix="bench_pybullet_ros_") as tmp:
        path = write_scaled_mission(Path(tmp) / "mission", n, duration=duration, control_rate=50.0)
        data = yaml.safe_load(path.read_text())
        data.setdefault("sim", {}).update(backend="pybullet", physics_rate=250.0)
        path.write_text(yaml.safe_dump(data))
        mission = load_mission(path)
        out = {"n": n, "duration": duration, "headless": headless(mission, 1)}
        for mode, speed, dom in (("lockstep", 0.0, 97), ("realtime", 1.0, 98)):
            out[mode] = ros(mission, speed, dom, Path(tmp) / mode, False)
            print(f"  ROS N={n} {mode}: RTF {out[mode]['rtf']:.2f}, late {100 * out[mode]['late_fraction']:.2f}%",
                  flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=None, help="comma-separated N (default 10,50,100; 10,50 with --quick)")
    ap.add_argument("--seconds", type=float, default=2.0, help="simulated seconds timed per run (default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per N and loop, median reported (default 3)")
    ap.add_argument("--mpc-solves", type=int, default=300)
    ap.add_argument("--ros-duration", type=float, default=20.0, help="simulated s of the ROS mission (default 20)")
    ap.add_argument("--quick", action="store_true", help="N = 10,50, one repeat, no ROS run")
    ap.add_argument("--json", metavar="PATH", help=f"also write the results here (always bench/results/{NAME}.json)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10,50" if args.quick else "10,50,100")).split(",") if s.strip()]
    repeats = 1 if args.quick else args.repeats
    info = machine_info()
    print(f"bench_pybullet: {info['cpus_usable']} CPUs usable ({info['processor']}), physics {PHYSICS_HZ:g} Hz, "
          f"control {CONTROL_HZ:g} Hz, {args.seconds:g} s timed per run, {repeats} repeat(s), load average "
          f"{info.get('load_average_1min', float('nan')):.2f}")
    physics = bench_physics(sizes, args.seconds, repeats)
    worst = max(r[k]["max_height_error"] for r in physics for k in ("ours_aero", "ours_plain", "peer_aero", "peer_plain"))
    if worst > GUARD_HEIGHT:     # correctness guard: a loop that does not fly would time nothing useful
        print(f"guard failed: a loop left a drone {worst:.3f} m off its target height (> {GUARD_HEIGHT} m)")
        return 1
    rows = []
    for r in physics:
        rows.append([r["n"], si(r["ours_aero"]["drone_steps_per_s"]), si(r["peer_aero"]["drone_steps_per_s"]),
                     ratio(r["ours_aero"]["drone_steps_per_s"], r["peer_aero"]["drone_steps_per_s"]),
                     si(r["ours_plain"]["drone_steps_per_s"]), si(r["peer_plain"]["drone_steps_per_s"]),
                     ratio(r["ours_plain"]["drone_steps_per_s"], r["peer_plain"]["drone_steps_per_s"]),
                     f"{r['ours_aero']['drone_steps_per_s'] * 1.0 / (r['n'] * PHYSICS_HZ):.1f}",
                     f"{max(r[k]['max_height_error'] for k in ('ours_aero', 'ours_plain', 'peer_aero', 'peer_plain')):.3f}"])
    print()
    print(table(["N", "ours aero", "peer aero", "ratio", "ours plain", "peer plain", "ratio", "ours RTF (aero)",
                 "max height err m"], rows,
                title=f"Drone-steps/s, Crazyflie 2.1, physics {PHYSICS_HZ:g} Hz, control {CONTROL_HZ:g} Hz, one core "
                      "(peer: per-drone PID loop, same run)"))
    print("aero = drag + ground effect + downwash; plain = rotor thrust and torques only; RTF = simulated / wall s")
    mpc = bench_mpc(args.mpc_solves)
    print()
    print(table(["platform", "solver", "median ms", "p99 ms", "solved"],
                [[m["platform"], m["solver"], f"{m['median_ms']:.3f}", f"{m['p99_ms']:.3f}", f"{m['solved']}/{m['solves']}"]
                 for m in mpc], title="MPC solve time (20 steps x 0.1 s, condensed QP, warm-started), per solve"))
    ros_loop = None if args.quick else bench_ros_loop(TARGET["ros_n"], args.ros_duration)
    tgt = next((r for r in physics if r["n"] == TARGET["n"]), None)
    if tgt:
        print(f"target: >= {si(TARGET['drone_steps_per_s'])} drone-steps/s at {TARGET['n']} drones; this run: "
              f"{si(tgt['ours_aero']['drone_steps_per_s'])} with aerodynamics, {si(tgt['ours_plain']['drone_steps_per_s'])} without")
    if ros_loop:
        print(f"target: real time with ROS in the loop at {TARGET['ros_n']} drones; this run: lockstep RTF "
              f"{ros_loop['lockstep']['rtf']:.2f}, real-time RTF {ros_loop['realtime']['rtf']:.3f} with "
              f"{100 * ros_loop['realtime']['late_fraction']:.2f}% late drone-ticks (headless RTF "
              f"{ros_loop['headless']['rtf']:.1f})")
    write_json(NAME, {"benchmark": NAME, "machine": info, "cpus": cpu_count(), "physics_hz": PHYSICS_HZ,
                      "control_hz": CONTROL_HZ, "seconds": args.seconds, "repeats": repeats, "target": TARGET,
                      "physics": physics, "mpc": mpc, "ros": ros_loop}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
