"""Serve a fleet of simulated vehicles on UDP: one socket per vehicle, one thread for all.

The thread steps the shared autopilot (point-mass physics) at the physics rate on the wall
clock, answers each datagram with the vehicle's protocol (CRTP for Crazyflies, MAVLink for
PX4 vehicles), sends telemetry when due, and keeps ground-truth safety metrics (collisions,
geofence) of everything that flies. `cut(name)` silences a vehicle's link both ways, as a radio
out of range would.
"""
from __future__ import annotations

import selectors
import socket
import struct
import threading
import time

from sim.metrics import SwarmMetrics
from swarm_ros.core.uri import udp_address

from .autopilot import Autopilot, Failsafe
from .cf_firmware import DEFAULT_CONTROLLER, STAND_IN, FirmwareCrazyflie, crazyflie_flight
from .crtp import CrazyflieLink
from .mavlink import MavlinkVehicle


def _crazyflie(server, k, d, battery):
    """CRTP; the firmware's own flight code flies it when the bindings are installed."""
    firmware = server.cf_flight != STAND_IN
    flight = FirmwareCrazyflie(d.start, d.vehicle.mass, server.cf_controller) if firmware else None
    return CrazyflieLink(server.ap, k, battery.get(d.name, 92.0), flight)


def _mavlink(server, k, d, battery):
    return MavlinkVehicle(server.ap, k, d.start, d.vehicle, system_id=d.sysid, battery=battery.get(d.name, 95.0))


# the simulated link of each autopilot (the protocol its real vehicles speak), by the platform's `autopilot`
LINKS = {"crazyflie": _crazyflie, "px4": _mavlink}


class UnservedAutopilot(ValueError):
    """A drone whose autopilot has no simulated link here; the message is one line."""

MAX_CATCH_UP = 20          # physics steps at most per loop pass when the thread fell behind
PEER_TIMEOUT = 5.0         # s: a ground station silent this long gets no more telemetry


class VehicleServer:
    def __init__(self, mission, links: dict[str, str], failsafe: Failsafe | None = None,
                 battery: dict[str, float] | None = None, physics_rate: float | None = None,
                 cf_controller: str | None = DEFAULT_CONTROLLER):
        """cf_controller: the firmware controller Crazyflies fly when the firmware bindings are installed
        (None: the point-mass stand-in); `self.cf_flight` says which one flies."""
        fleet = mission.fleet
        self.mission = mission
        self.names = fleet.names
        self.rate = physics_rate or mission.physics_rate
        fs = [Failsafe(**vars(failsafe or Failsafe())) for _ in fleet.drones]
        self.ap = Autopilot([d.vehicle for d in fleet.drones], [d.start for d in fleet.drones], fs)
        self.metrics = SwarmMetrics([d.vehicle.body_radius for d in fleet.drones], mission.world, self.ap.position)
        battery = battery or {}
        self.links, self.sockets, self.peers = [], [], []
        self.cf_controller = cf_controller
        self.cf_flight = crazyflie_flight(cf_controller, sum(d.autopilot == "crazyflie" for d in fleet.drones))
        self.selector = selectors.DefaultSelector()
        unserved = [d for d in fleet.drones if d.autopilot not in LINKS]
        if unserved:
            d = unserved[0]
            raise UnservedAutopilot(f"{d.platform_spec.file}: autopilot: {d.autopilot!r} (drone {d.name!r}) has no "
                                    f"simulated vehicle link; allowed: " + ", ".join(LINKS))
        for k, d in enumerate(fleet.drones):
            link = LINKS[d.autopilot](self, k, d, battery)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind(udp_address(links[d.name]))
            except OSError as err:
                self.close()
                raise OSError(f"cannot serve {d.name} at {links[d.name]}: {err.strerror}") from None
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ, k)
            self.links.append(link)
            self.sockets.append(sock)
            self.peers.append({})
        self.cut_links: set[int] = set()
        self.bad_packets: list[str] = []      # packets a vehicle could not parse (dropped)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------------
    def start(self) -> "VehicleServer":
        self._thread = threading.Thread(target=self.run, name="vehicle-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.selector.close()

    def cut(self, name: str) -> None:
        self.cut_links.add(self.names.index(name))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- loop --------------------------------------------------------------------------------
    def run(self) -> None:
        dt = 1.0 / self.rate
        wall0 = time.monotonic()
        steps = 0
        while not self._stop.is_set():
            due = wall0 + (steps + 1) * dt
            for key, _ in self.selector.select(timeout=max(0.0, due - time.monotonic())):
                self._receive(key.fileobj, key.data)
            behind = int((time.monotonic() - wall0) / dt) - steps
            if behind <= 0:
                continue
            n = min(behind, MAX_CATCH_UP)
            with self.lock:
                airborne = self.ap.position[:, 2] > 0.05
                self.ap.step(dt, n)
                self.metrics.update(self.ap.t, self.ap.position)
                for k, link in enumerate(self.links):
                    if airborne[k]:
                        link.drain(n * dt)
            steps += behind                    # a thread far behind skips time rather than racing
            self._send_telemetry()

    def _receive(self, sock, k: int) -> None:
        while True:
            try:
                data, addr = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if k in self.cut_links:
                continue
            self.peers[k][addr] = time.monotonic()
            with self.lock:
                try:
                    replies = self.links[k].handle(data)
                except (ValueError, IndexError, struct.error) as err:   # a malformed packet: drop it, fly on
                    self.bad_packets.append(f"{self.names[k]}: {type(err).__name__}: {err}")
                    continue
            for r in replies:
                self._send(k, r, addr)

    def _send(self, k: int, data: bytes, addr) -> None:
        try:
            self.sockets[k].sendto(data, addr)
        except OSError:
            pass            # the ground station went away: as over the air, nobody notices

    def _send_telemetry(self) -> None:
        now = time.monotonic()
        for k, link in enumerate(self.links):
            if k in self.cut_links:
                continue
            peers = self.peers[k]
            for addr in [a for a, seen in peers.items() if now - seen > PEER_TIMEOUT]:
                del peers[addr]
            if not peers:
                continue
            with self.lock:
                packets = link.telemetry(self.ap.t)
            for data in packets:
                for addr in list(peers):
                    self._send(k, data, addr)

    # --- results -----------------------------------------------------------------------------
    def summary(self) -> dict:
        with self.lock:
            m, ap = self.metrics, self.ap
            landed = ap.landed()
            drones = [{"name": n, "collisions": int(m.collisions[k]), "geofence_violations": int(m.fence_violations[k]),
                       "min_separation": float(m.min_separation[k]), "distance": float(m.distance[k]),
                       "landed": bool(landed[k]), "armed": bool(ap.armed[k]), "mode": ap.mode[k],
                       "events": [(t, e) for t, j, e in ap.events if j == k]}
                      for k, n in enumerate(self.names)]
            return {"sim_time": ap.t, "collisions": len(m.collision_events),
                    "geofence_violations": int(m.fence_violations.sum()),
                    "min_separation": float(m.overall_min_separation), "drones": drones,
                    "bad_packets": self.bad_packets[-20:],
                    "ever_armed": sorted({self.names[j] for _, j, e in ap.events if e == "armed"})}
