"""The PX4 backend against the real PX4 v1.16 (SITL + SIH) and against the project's imitation, same run.

    python bench/bench_px4_sih.py                 # about 2.5 min; needs ../shared/px4-sih (or $PX4_SIH_DIR)
    python bench/bench_px4_sih.py --steps 4 --json /tmp/px4.json

For each vehicle (real PX4 instance; imitation in sim/vehicles), one flight through `Px4Backend`:
- setpoint-to-state latency: hovering, the velocity setpoint steps to 0.5 m/s (east, then west);
  latency = time from the call until the backend's reported velocity (the vehicle's own
  estimate, LOCAL_POSITION_NED) passes half the step. Median over `--steps` steps;
- command rate: `Px4Backend.velocity` calls per second in a tight loop for 1 s (all go onto UDP);
  for the imitation also the share that reached its autopilot;
- setpoint-loss failsafe: the stream stops, heartbeats go on (PX4 defaults: COM_OF_LOSS_T 1 s,
  COM_OBL_RC_ACT 0): s until the backend reports the failsafe, until the land detector says
  landed, until disarmed (the imitation holds instead: landed by command afterwards);
- link loss: a second flight, the link cut both ways at 1.5 m (PX4: COM_OBL_RC_ACT 5 hold,
  NAV_DLL_ACT 3 land, else defaults; imitation: hold after 0.5 s, land after 2 s): s until the vehicle starts down and
  until it is down, by ground truth (SIH's / the imitation's).
Correctness guard: every step must reach half its value within 10 s, or no figure is shown.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))
from common import machine_info, median, table, write_json  # noqa: E402

NAME = "bench_px4_sih"
# link loss: land on data-link loss (PX4 defaults otherwise: COM_DL_LOSS_T 10 s, COM_FAIL_ACT_T 5 s);
# the link-loss flight also holds on offboard loss (COM_OBL_RC_ACT 5, set before it)
LINK_LOSS_PARAMS = {"NAV_DLL_ACT": 3}
STEP = 0.5          # m/s
HEIGHT = 1.5        # m


def wait(cond, timeout: float, step: float = 0.005) -> float | None:
    """Seconds until cond() held, or None."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if cond():
            return time.perf_counter() - t0
        time.sleep(step)
    return None


def fly(b, steps: int, arrived=None) -> dict:
    b.arm()
    b.takeoff(HEIGHT, 3.0)
    if wait(lambda: b.state().position[2] - b.start[2] > HEIGHT - 0.3, 30.0) is None:
        raise SystemExit(f"correctness guard: {b.name} did not climb to {HEIGHT} m")
    time.sleep(2.0)
    lat = []
    for i in range(steps):
        sign = 1.0 if i % 2 == 0 else -1.0
        b.velocity([sign * STEP, 0.0, 0.0])
        t = wait(lambda: sign * b.state().velocity[0] > STEP / 2, 10.0)
        if t is None:
            raise SystemExit(f"correctness guard: {b.name}'s velocity never reached half of a {STEP} m/s step")
        lat.append(t)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 2.0:      # keep streaming (the backend repeats the last one at 20 Hz too)
            b.velocity([sign * STEP, 0.0, 0.0])
            time.sleep(0.05)
    b.velocity([0.0, 0.0, 0.0])
    time.sleep(1.0)
    before = len(arrived) if arrived is not None else 0
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        b.velocity([1e-6 * (calls % 1000), 0.0, 0.0])
        calls += 1
    rate = calls / (time.perf_counter() - t0)
    time.sleep(0.3)
    delivered = (len(arrived) - before) / calls if arrived is not None else None
    b.velocity([0.0, 0.0, 0.0])
    time.sleep(1.0)
    b._setpoint = None                                # the stream stops; the link (heartbeats) stays
    t_fs = wait(lambda: b.state().mode.startswith("failsafe") or b.state().mode.startswith("AUTO"), 15.0, 0.02)
    t_landed = wait(lambda: not b.state().airborne, 40.0, 0.02)
    t_disarmed = wait(lambda: not b.state().armed, 40.0, 0.02)
    if t_disarmed is None:                            # the imitation holds on setpoint loss: land it
        b.land(5.0)
        wait(lambda: not b.state().armed, 30.0)
    return {"latency_ms": [x * 1e3 for x in lat], "median_latency_ms": median([x * 1e3 for x in lat]),
            "command_rate_hz": rate, "delivered_share": delivered, "failsafe_s": t_fs,
            "landed_after_loss_s": None if t_landed is None or t_fs is None else t_fs + t_landed,
            "disarmed_after_loss_s": None if t_disarmed is None or t_landed is None or t_fs is None
            else t_fs + t_landed + t_disarmed, "mode_after_loss": b.state().mode}


def link_loss(b, cut, height) -> dict:
    """Fly up, cut the link both ways, and time from the ground truth (height above the pad, m, from
    `height()`): s until the vehicle starts down (hold before), s until it is down."""
    b.arm()
    b.takeoff(HEIGHT, 3.0)
    if wait(lambda: height() > HEIGHT - 0.5, 30.0) is None:
        raise SystemExit(f"correctness guard: {b.name} did not climb before the link cut")
    time.sleep(2.0)
    cut()
    t0, top = time.perf_counter(), height()
    t_down = wait(lambda: height() < top - 0.3, 60.0, 0.02)
    t_landed = wait(lambda: height() < 0.15, 60.0, 0.02)
    return {"descent_starts_s": t_down, "landed_s": None if t_landed is None else time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--px4-dir")
    ap.add_argument("--json")
    args = ap.parse_args()
    from hwutil import UdpRelay, loopback_links, pair_mission
    from sim.vehicles.px4_sih import API_PORT, OFFBOARD_PORT, Px4NotFound, Px4SihFleet, find_px4
    from sim.vehicles.server import VehicleServer
    from swarm_ros.hardware.px4 import Px4Backend
    from swarm_ros.mission import load_mission
    try:
        dist = find_px4(args.px4_dir)
    except Px4NotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        mission = load_mission(pair_mission(Path(tmp)))
        x1 = mission.fleet.by_name("x1")
        fleet = Px4SihFleet([x1], Path(tmp) / "px4", dist, params=LINK_LOSS_PARAMS).start()
        relay = None
        try:
            b = Px4Backend(x1, fleet.links()["x1"])
            b.connect(10.0)
            try:
                results["real PX4 v1.16 (SIH)"] = fly(b, args.steps)
            finally:
                b.close()
            i = fleet.vehicles["x1"].instance
            relay = UdpRelay(("127.0.0.1", OFFBOARD_PORT + i), ("127.0.0.1", API_PORT + i))
            ground = fleet.truth.snapshot()[0][0, 2]
            b = Px4Backend(x1, f"udp://127.0.0.1:{relay.port}")
            b.connect(10.0)
            try:
                b.set_parameter("COM_OBL_RC_ACT", 5)
                results["real PX4 v1.16 (SIH)"]["link_loss"] = link_loss(
                    b, relay.cut.set, lambda: fleet.truth.snapshot()[0][0, 2] - ground)
            finally:
                b.close()
        finally:
            if relay is not None:
                relay.close()
            fleet.stop(remove=True)
        links = loopback_links(mission.fleet.names)
        with VehicleServer(mission, links) as server:
            arrived = []
            k, apilot = server.names.index("x1"), server.ap
            original = apilot.stream_velocity

            def stream_velocity(j, v):
                if j == k:
                    arrived.append(time.perf_counter())
                original(j, v)
            apilot.stream_velocity = stream_velocity
            b = Px4Backend(x1, links["x1"])
            b.connect(5.0)
            try:
                results["imitation (sim/vehicles)"] = fly(b, args.steps, arrived)
            finally:
                b.close()
            b = Px4Backend(x1, links["x1"])
            b.connect(5.0)
            try:
                results["imitation (sim/vehicles)"]["link_loss"] = link_loss(
                    b, lambda: server.cut("x1"), lambda: server.ap.position[k, 2] - x1.start[2])
            finally:
                b.close()
    fmt = lambda x, f="{:.2f}": "-" if x is None else f.format(x)   # noqa: E731
    for name, r in results.items():
        r["link_descent_s"], r["link_landed_s"] = r["link_loss"]["descent_starts_s"], r["link_loss"]["landed_s"]
    rows = [(name, fmt(r["median_latency_ms"], "{:.0f}"), fmt(min(r["latency_ms"]), "{:.0f}"),
             fmt(max(r["latency_ms"]), "{:.0f}"), fmt(r["command_rate_hz"], "{:.0f}"),
             fmt(r["delivered_share"], "{:.3f}"), fmt(r["failsafe_s"]), fmt(r["landed_after_loss_s"]),
             fmt(r["disarmed_after_loss_s"]), fmt(r["link_descent_s"]), fmt(r["link_landed_s"]))
            for name, r in results.items()]
    print(table(["vehicle", "step->state median ms", "min ms", "max ms", "setpoint calls/s", "delivered",
                 "loss->failsafe s", "loss->landed s", "loss->disarmed s",
                 "cut->descends s", "cut->down s"], rows,
                title=f"Px4Backend, {args.steps} velocity steps of {STEP} m/s at {HEIGHT} m, setpoint loss; then a "
                      "link cut (both ways) in flight"))
    write_json(NAME, {"machine": machine_info(), "steps": args.steps, "px4": str(dist), "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
