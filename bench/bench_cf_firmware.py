"""The simulated Crazyflie with the firmware's flight code against the point-mass stand-in, same run.

    python bench/bench_cf_firmware.py                 # about 1 min
    python bench/bench_cf_firmware.py --quick         # about 25 s

1. Physics steps/s: the vehicle server's autopilot stepped at the mission's physics rate (200 Hz)
   with its Crazyflies hovering after a high-level take-off (sent as CRTP packets), no sockets:
   the pair mission (1 Crazyflie + 1 X500) and first_flight (4 Crazyflies + 2 X500s).
2. Setpoint-to-state latency through cflib over UDP (the deploy path): hovering at 1 m, the
   backend steps its velocity command from 0 to 0.5 m/s (alternating direction); latency = from
   the first call until the state estimate the backend receives shows 0.05 m/s (first response)
   and 0.25 m/s (half the step) in that direction. Includes the vehicle's own response: motor lag
   and attitude for the firmware, the first-order velocity response for the point mass.

Correctness guard: every Crazyflie must hover within 5 cm of 1 m before anything is timed, and
every velocity step must reach half its value within 2 s.
"""
from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))
from common import machine_info, median, ratio, table, write_json  # noqa: E402

NAME = "bench_cf_firmware"
FLIGHTS = {"firmware mellinger": "mellinger", "point-mass stand-in": None}


def takeoff_packet(height: float, duration: float) -> bytes:
    from sim.vehicles.crtp import PORT_HL, header
    return bytes([header(PORT_HL, 0)]) + struct.pack("<BBff?f", 7, 0, height, 0.0, True, duration)


def steps_per_second(mission, controller, seconds: float) -> dict:
    from hwutil import loopback_links
    from sim.vehicles.autopilot import Failsafe
    from sim.vehicles.server import VehicleServer
    quiet = Failsafe(hover_after=1e9, land_after=1e9)     # no ground station here: no link-loss landing
    server = VehicleServer(mission, loopback_links(mission.fleet.names), quiet, cf_controller=controller)
    try:
        ap, dt = server.ap, 1.0 / server.rate
        cfs = [k for k, d in enumerate(mission.fleet.drones) if d.autopilot == "crazyflie"]
        for k in cfs:
            server.links[k].handle(takeoff_packet(1.0, 1.0))
        for _ in range(int(2.5 / dt)):
            ap.step(dt)
        heights = ap.position[cfs, 2] - np.array([mission.fleet.drones[k].start[2] for k in cfs])
        if np.abs(heights - 1.0).max() > 0.05:
            raise SystemExit(f"correctness guard: Crazyflies at {heights} m, not hovering at 1 m")
        n = int(seconds / dt)
        t0 = time.perf_counter()
        for _ in range(n):
            ap.step(dt)
        wall = time.perf_counter() - t0
    finally:
        server.close()
    return {"steps_per_s": n / wall, "realtime_factor": n * dt / wall, "crazyflies": len(cfs)}


def latency(mission, controller, reps: int) -> dict:
    from hwutil import loopback_links, wait_for
    from sim.vehicles.server import VehicleServer
    from swarm_ros.hardware import make_backend
    links = loopback_links(mission.fleet.names)
    first, half = [], []
    with VehicleServer(mission, links, cf_controller=controller):
        b = make_backend("crazyflie", mission.fleet.by_name("cf1"), links["cf1"])
        b.connect(5.0)
        try:
            b.arm()
            b.takeoff(1.0, 1.5)
            if not wait_for(lambda: abs(b.state().position[2] - b.start[2] - 1.0) < 0.05, 6.0):
                raise SystemExit("correctness guard: no hover at 1 m after take-off")
            for r in range(reps):
                sign = 1.0 if r % 2 == 0 else -1.0
                hold_until = time.monotonic() + 0.8
                while time.monotonic() < hold_until:          # settle: zero velocity
                    b.velocity([0.0, 0.0, 0.0])
                    time.sleep(0.01)
                t0 = time.perf_counter()
                seen = None
                while time.perf_counter() - t0 < 2.0:
                    b.velocity([0.5 * sign, 0.0, 0.0])
                    vx = sign * b.state().velocity[0]
                    if seen is None and vx > 0.05:
                        seen = time.perf_counter() - t0
                    if vx > 0.25:
                        break
                    time.sleep(0.002)
                else:
                    raise SystemExit(f"correctness guard: step {r} never reached half its value")
                first.append(seen)
                half.append(time.perf_counter() - t0)
            b.land(2.0)
        finally:
            b.close()
    return {"first_ms": median(first) * 1e3, "half_ms": median(half) * 1e3,
            "raw_first_ms": [x * 1e3 for x in first], "raw_half_ms": [x * 1e3 for x in half]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs, fewer steps")
    ap.add_argument("--json")
    args = ap.parse_args()
    from hwutil import FIRST_FLIGHT, pair_mission
    from sim.vehicles.cf_firmware import firmware
    from swarm_ros.mission import load_mission
    if firmware() is None:
        print("the cffirmware bindings are not installed: pip install ../shared/cffirmware/cffirmware-*.whl")
        return 2
    seconds, reps = (2.0, 4) if args.quick else (5.0, 10)
    with tempfile.TemporaryDirectory() as tmp:
        missions = {"pair (1 CF)": load_mission(pair_mission(Path(tmp))), "first_flight (4 CF)": load_mission(FIRST_FLIGHT)}
        speed = {(m, f): steps_per_second(mission, c, seconds) for m, mission in missions.items()
                 for f, c in FLIGHTS.items()}
        lat = {f: latency(missions["pair (1 CF)"], c, reps) for f, c in FLIGHTS.items()}
    rows = []
    for m in missions:
        base = speed[(m, "point-mass stand-in")]["steps_per_s"]
        for f in FLIGHTS:
            r = speed[(m, f)]
            rows.append((m, f, f"{r['steps_per_s']:.0f}", f"{r['realtime_factor']:.1f}", ratio(r["steps_per_s"], base)))
    print(table(["fleet", "Crazyflies fly", "steps/s", "x real time", "this / stand-in"], rows,
                title=f"vehicle-server physics steps (200 Hz), hovering, {seconds:g} s simulated"))
    print(table(["Crazyflies fly", "first response ms", "half step ms"],
                [(f, f"{r['first_ms']:.0f}", f"{r['half_ms']:.0f}") for f, r in lat.items()],
                title=f"cflib velocity step 0 -> 0.5 m/s to the state the backend receives, median of {reps}"))
    write_json(NAME, {"machine": machine_info(), "seconds": seconds, "reps": reps,
                      "steps": {f"{m} / {f}": r for (m, f), r in speed.items()}, "latency": lat}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
