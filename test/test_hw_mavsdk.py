"""Cross-check of the simulated MAVLink vehicle with an independent client: MAVSDK's own
mavsdk_server (from the mavsdk-grpc package) connects, reads telemetry, arms, flies offboard
velocity setpoints in NED and lands it."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hwutil import loopback_links, pair_mission
from sim.vehicles.autopilot import Failsafe
from sim.vehicles.server import VehicleServer
from swarm_ros.mission import load_mission

mavsdk = pytest.importorskip("mavsdk_grpc", reason="MAVSDK (pip install mavsdk-grpc, in the test extra) is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")   # inside mavsdk_grpc


@pytest.fixture(autouse=True)
def server_temp_in_the_test(tmp_path, monkeypatch):
    """mavsdk_server leaves a mavsdk-component-metadata-* folder in its temp folder: the test's own."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))


async def fly_with_mavsdk(address: str, ports: list[int]) -> dict:
    from mavsdk_grpc import System
    from mavsdk_grpc.offboard import VelocityNedYaw
    drone = System(port=ports[0])          # its own gRPC port: tests never share a mavsdk_server
    try:
        await drone.connect(system_address=address)
        async for state in drone.core.connection_state():
            if state.is_connected:
                break
        out = {}
        async for pv in drone.telemetry.position_velocity_ned():
            out["start_ned"] = (pv.position.north_m, pv.position.east_m, pv.position.down_m)
            break
        async for battery in drone.telemetry.battery():
            out["battery"] = battery.remaining_percent
            break
        await drone.action.arm()
        async for armed in drone.telemetry.armed():
            if armed:
                break
        await drone.offboard.set_velocity_ned(VelocityNedYaw(0.0, 0.0, 0.0, 0.0))
        await drone.offboard.start()
        await drone.offboard.set_velocity_ned(VelocityNedYaw(1.0, 0.0, -1.0, 0.0))   # north and up
        await asyncio.sleep(1.5)
        await drone.offboard.set_velocity_ned(VelocityNedYaw(0.0, 0.0, 0.0, 0.0))
        await asyncio.sleep(0.5)
        async for mode in drone.telemetry.flight_mode():
            out["mode"] = str(mode)
            break
        async for pv in drone.telemetry.position_velocity_ned():
            out["flown_ned"] = (pv.position.north_m, pv.position.east_m, pv.position.down_m)
            break
        await drone.offboard.stop()
        await drone.action.land()
        async for in_air in drone.telemetry.in_air():
            if not in_air:
                break
        async for armed in drone.telemetry.armed():      # PX4 disarms itself after landing
            if not armed:
                break
    finally:
        drone._stop_mavsdk_server()      # the mavsdk_server process this test started
    return out


def test_mavsdk_connects_arms_flies_offboard_and_lands(tmp_path):
    mission = load_mission(pair_mission(tmp_path))
    links = loopback_links(mission.fleet.names)
    from hwutil import free_ports
    with VehicleServer(mission, links, Failsafe(land_speed=1.5)) as server:
        host_port = links["x1"].removeprefix("udp://")
        out = asyncio.run(asyncio.wait_for(fly_with_mavsdk(f"udpout://{host_port}", free_ports(1)), 60))
        k = server.names.index("x1")
        with server.lock:
            flown = [t for t, j, e in server.ap.events if j == k]
            position, armed = server.ap.position[k].copy(), bool(server.ap.armed[k])
        assert server.bad_packets == []                            # everything MAVSDK sent parsed
    assert out["start_ned"] == pytest.approx((0.0, 0.0, 0.0), abs=1e-3)
    assert out["battery"] > 50
    assert "OFFBOARD" in out["mode"]
    north, east, down = out["flown_ned"]
    assert north > 1.0 and abs(east) < 0.05 and down < -1.0        # MAVSDK's north / up are the vehicle's
    assert position[2] < 0.05 and not armed and flown              # landed, disarmed itself
    start = np.array(mission.fleet.by_name("x1").start)
    assert position[1] - start[1] == pytest.approx(north, abs=0.3)  # north in NED is +y in the ENU world
