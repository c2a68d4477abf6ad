"""How far the real PX4's own estimate strays from SIH's truth while it hovers on a position setpoint.

    python bench/px4_hover_drift.py                 # two X500s, 40 s hover; needs ../shared/px4-sih
    python bench/px4_hover_drift.py --seconds 60 --json /tmp/drift.json

A measurement, not a speed benchmark: it sizes the tolerances of the PX4 tests and tells a user
what a position setpoint means in SIH. The first_flight fleet's PX4 vehicles arm, climb 2 m in
OFFBOARD through `Px4Backend` and hold that point; once a second, per vehicle: the estimate's
distance from its setpoint (what PX4's controller sees), the estimate's horizontal offset from
the truth, its velocity's difference from the truth's, and its yaw's (ATTITUDE against
HIL_STATE_QUATERNION). Printed as median and maximum per vehicle.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))
from common import machine_info, median, table, write_json  # noqa: E402

import numpy as np  # noqa: E402

HEIGHT = 2.0      # m above the pad
MEASURES = ("estimate to setpoint (m)", "estimate to truth, horizontal (m)", "velocity estimate error (m/s)",
            "yaw estimate error (deg)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=40.0, help="hover time measured (default 40)")
    ap.add_argument("--settle", type=float, default=8.0, help="s after the climb before measuring (default 8)")
    ap.add_argument("--json", help="write the results here (default bench/results/px4_hover_drift.json)")
    args = ap.parse_args(argv)
    from hwutil import FIRST_FLIGHT
    from sim.vehicles import px4_sih
    from swarm_ros.mission import load_mission
    try:
        px4_sih.find_px4()
    except px4_sih.Px4NotFound as err:
        print(f"real PX4 not available: {err}", file=sys.stderr)
        return 3
    mission = load_mission(FIRST_FLIGHT)
    drones = [d for d in mission.fleet.drones if d.sysid is not None]
    with tempfile.TemporaryDirectory(prefix="px4drift") as folder:
        samples = hover(args, mission, px4_sih.Px4SihFleet(drones, Path(folder)).start())
    rows, out = [], {"machine": machine_info(), "seconds": args.seconds, "vehicles": {}}
    for n, got in samples.items():
        cols = list(zip(*got))
        out["vehicles"][n] = {what: {"median": median(c), "max": max(c)} for what, c in zip(MEASURES, cols)}
        rows.append([n] + [f"{median(c):.2f} / {max(c):.2f}" for c in cols])
    print(table(["vehicle", *(f"{w}, median / max" for w in MEASURES)], rows,
                title=f"PX4 v1.16 SIH hovering {HEIGHT:g} m up on a position setpoint, {args.seconds:g} s, once a second"))
    write_json("px4_hover_drift", out, args.json)
    return 0


def hover(args, mission, fleet) -> dict[str, list[tuple]]:
    """Fly the fleet's vehicles up, hold, sample once a second, land: {vehicle: [measures]}."""
    from swarm_ros.hardware.px4 import Px4Backend
    yaw: dict[int, float] = {}
    backends = {}
    try:
        for k, (name, uri) in enumerate(fleet.links().items()):
            b = Px4Backend(mission.fleet.by_name(name), uri)
            take = b._on_message

            def hook(msg, take=take, k=k):       # PX4's attitude estimate, beside what the backend reads
                if msg.get_type() == "ATTITUDE":
                    yaw[k] = msg.yaw
                take(msg)
            b._on_message = hook
            b.connect(10.0)
            backends[name] = b
        for b in backends.values():
            b.arm()
        setpoints = {n: b.start + np.array([0.0, 0.0, HEIGHT]) for n, b in backends.items()}
        for n, b in backends.items():
            b.position(setpoints[n])
        time.sleep(args.settle + 10.0)           # the climb, then the settling
        samples = {n: [] for n in backends}
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            time.sleep(1.0)
            truth_p, truth_v = fleet.truth.snapshot()
            for k, (n, b) in enumerate(backends.items()):
                s = b.state()
                turn = math.degrees(yaw.get(k, 0.0) - fleet.truth.yaw[k])
                samples[n].append((float(np.linalg.norm(s.position - setpoints[n])),
                                   float(np.linalg.norm(s.position[:2] - truth_p[k][:2])),
                                   float(np.linalg.norm(s.velocity[:2] - truth_v[k][:2])),
                                   abs((turn + 180.0) % 360.0 - 180.0)))
        for b in backends.values():
            b.land(6.0)
        time.sleep(12.0)
    finally:
        for b in backends.values():
            b.close()
        fleet.stop(remove=True)
    return samples


if __name__ == "__main__":
    raise SystemExit(main())
