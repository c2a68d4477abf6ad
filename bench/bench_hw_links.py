"""Setpoint latency through the hardware backends, against MAVSDK in the same run.

    python bench/bench_hw_links.py                # 300 setpoints per client, about 30 s
    python bench/bench_hw_links.py --setpoints 100 --json /tmp/links.json

Simulated vehicles (sim/vehicles) run in this process; each client sends velocity setpoints
with a unique value every `--period` s and the vehicle notes when each first reaches its
autopilot. Latency = that moment minus the moment the client call was made (one clock):

- ours, PX4: `Px4Backend.velocity` (pymavlink, straight onto UDP);
- ours, Crazyflie: `CrazyflieBackend.velocity` (cflib's UDP driver, through its send queue);
- peer, PX4: MAVSDK `offboard.set_velocity_ned` (gRPC to mavsdk_server, then MAVLink), the
  client a MAVSDK user would pick instead of pymavlink.

Correctness guard: every setpoint must arrive, with the value sent, before a figure is shown.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))
from common import machine_info, median, ratio, table, write_json  # noqa: E402

NAME = "bench_hw_links"


class Probe:
    """Records when each setpoint value first reaches vehicle `name`'s autopilot."""

    def __init__(self, server, name: str):
        self.arrived: dict[int, float] = {}
        k, ap = server.names.index(name), server.ap
        original = ap.stream_velocity

        def stream_velocity(j, v):
            key = round(float(v[0]) * 1000)
            if j == k and key not in self.arrived:
                self.arrived[key] = time.perf_counter()
            original(j, v)
        ap.stream_velocity = stream_velocity


def run_backend(backend, probe: Probe, n: int, period: float) -> list[float]:
    sent = {}
    for i in range(1, n + 1):
        sent[i] = time.perf_counter()
        backend.velocity([i * 1e-3, 0.0, 0.0])
        time.sleep(period)
    time.sleep(0.2)
    return latencies(sent, probe)


async def run_mavsdk(address: str, grpc_port: int, probe: Probe, n: int, period: float) -> list[float]:
    from mavsdk_grpc import System
    from mavsdk_grpc.offboard import VelocityNedYaw
    drone = System(port=grpc_port)
    try:
        await drone.connect(system_address=address)
        async for state in drone.core.connection_state():
            if state.is_connected:
                break
        await drone.action.arm()
        await drone.offboard.set_velocity_ned(VelocityNedYaw(0.0, 0.0, 0.0, 0.0))
        await drone.offboard.start()
        sent = {}
        for i in range(1, n + 1):
            sent[i] = time.perf_counter()
            await drone.offboard.set_velocity_ned(VelocityNedYaw(0.0, i * 1e-3, 0.0, 0.0))   # east = ENU x
            await asyncio.sleep(period)
        await asyncio.sleep(0.2)
        return latencies(sent, probe)
    finally:
        drone._stop_mavsdk_server()


def latencies(sent: dict, probe: Probe) -> list[float]:
    missing = [i for i in sent if i not in probe.arrived]
    if missing:
        raise SystemExit(f"correctness guard: {len(missing)} of {len(sent)} setpoints never arrived")
    return [probe.arrived[i] - sent[i] for i in sent]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setpoints", type=int, default=300)
    ap.add_argument("--period", type=float, default=0.02, help="s between setpoints (default 0.02: 50 Hz)")
    ap.add_argument("--json")
    args = ap.parse_args()
    from hwutil import free_ports, loopback_links, pair_mission
    from sim.vehicles.server import VehicleServer
    from swarm_ros.hardware import make_backend
    from swarm_ros.mission import load_mission

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        mission = load_mission(pair_mission(Path(tmp)))
        for client in ("px4 (pymavlink)", "crazyflie (cflib)", "px4 (MAVSDK, peer)"):
            links = loopback_links(mission.fleet.names)
            name = "cf1" if "crazyflie" in client else "x1"
            with VehicleServer(mission, links) as server:
                probe = Probe(server, name)
                if "MAVSDK" in client:
                    try:
                        import mavsdk_grpc  # noqa: F401
                    except ImportError:
                        print("MAVSDK peer skipped: pip install mavsdk-grpc")
                        continue
                    host_port = links[name].removeprefix("udp://")
                    lat = asyncio.run(run_mavsdk(f"udpout://{host_port}", free_ports(1)[0], probe,
                                                 args.setpoints, args.period))
                else:
                    b = make_backend("crazyflie" if name == "cf1" else "px4", mission.fleet.by_name(name), links[name])
                    b.connect(5.0)
                    try:
                        b.arm()
                        lat = run_backend(b, probe, args.setpoints, args.period)
                    finally:
                        b.close()
            lat_ms = sorted(x * 1e3 for x in lat)
            results[client] = {"median_ms": median(lat_ms), "p95_ms": lat_ms[int(0.95 * (len(lat_ms) - 1))],
                               "max_ms": lat_ms[-1], "raw_ms": lat_ms}
    peer = results.get("px4 (MAVSDK, peer)", {}).get("median_ms")
    rows = [(c, f"{r['median_ms']:.3f}", f"{r['p95_ms']:.3f}", f"{r['max_ms']:.2f}", ratio(peer, r["median_ms"]))
            for c, r in results.items()]
    print(table(["client", "median ms", "p95 ms", "max ms", "MAVSDK / this"], rows,
                title=f"setpoint latency to the vehicle's autopilot, {args.setpoints} setpoints at {1 / args.period:g} Hz"))
    write_json(NAME, {"machine": machine_info(), "setpoints": args.setpoints, "period": args.period,
                      "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
