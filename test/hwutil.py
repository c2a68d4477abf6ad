"""Helpers for the hardware-backend tests: free UDP ports, small fleets, simulated vehicles."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import yaml

from conftest import REPO


def free_ports(n: int) -> list[int]:
    """UDP ports nobody listens on right now (bound together, so all differ)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def pair_mission(folder: Path) -> Path:
    """One Crazyflie and one X500 in an open hall; a hover mission (the backend tests fly by hand)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fleet.yaml").write_text(yaml.safe_dump({
        "name": "pair", "types": {"cf": {"platform": "crazyflie_2.1", "role": "hover"},
                                  "x500": {"platform": "px4_x500", "role": "hover"}},
        "drones": {"cf1": {"type": "cf", "start": [1.0, 2.0, 0.0]}, "x1": {"type": "x500", "start": [-3.0, 1.0, 0.0]}}}))
    (folder / "world.yaml").write_text(yaml.safe_dump({"name": "hall", "bounds": {"min": [-10, -10, 0], "max": [10, 10, 6]}}))
    (folder / "mission.yaml").write_text(yaml.safe_dump({
        "name": "pair_hover", "fleet": "fleet.yaml", "world": "world.yaml", "duration": 8,
        "phases": {"takeoff": {"altitude": 1.0, "duration": 2}, "land": {"duration": 3}},
        "roles": {"hover": {"controller": "waypoint", "params": {"waypoints": [[0, 0, 1]], "relative": True}}},
        "record": {"enabled": False}, "view_rate": 0}))
    return folder / "mission.yaml"


FIRST_FLIGHT = REPO / "config" / "missions" / "first_flight.yaml"


def loopback_links(names) -> dict[str, str]:
    return {n: f"udp://127.0.0.1:{p}" for n, p in zip(names, free_ports(len(names)))}


def write_links(path: Path, links: dict[str, str]) -> Path:
    path.write_text(yaml.safe_dump(links))
    return path


def wait_for(condition, timeout: float, step: float = 0.02) -> bool:
    """Poll until `condition()` holds; False if it never did (the test then fails on its assert)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def events(server, name: str) -> list[tuple[float, str]]:
    k = server.names.index(name)
    with server.lock:
        return [(t, e) for t, j, e in server.ap.events if j == k]


class UdpRelay:
    """A radio link that can go out: datagrams between a ground station (which sends to `port`) and a
    vehicle (at `vehicle`, answering `bind`) pass through unless cut, both ways."""

    def __init__(self, vehicle: tuple[str, int], bind: tuple[str, int]):
        import threading
        self.vehicle = vehicle
        self.outer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.outer.bind(("127.0.0.1", 0))
        self.inner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.inner.bind(bind)
        self.port = self.outer.getsockname()[1]
        self.station = None
        self.cut = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import select
        while not self._stop.is_set():
            ready, _, _ = select.select([self.outer, self.inner], [], [], 0.1)
            for s in ready:
                try:
                    data, addr = s.recvfrom(4096)
                    if self.cut.is_set():
                        continue
                    if s is self.outer:
                        self.station = addr
                        self.inner.sendto(data, self.vehicle)
                    elif self.station is not None:
                        self.outer.sendto(data, self.station)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.outer.close()
        self.inner.close()
