"""A mixed fleet served for `swarm-ros vehicles --px4 sih`: PX4 drones on the real PX4 (SIH), the
rest on the simulated CRTP vehicles, and the ground truth of all of them in one set of safety
metrics (a Crazyflie touching an X500 counts too)."""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np

from sim.metrics import SwarmMetrics

from .px4_sih import BOOT_TIMEOUT, Px4SihFleet
from .cf_firmware import DEFAULT_CONTROLLER
from .server import VehicleServer

TRUTH_RATE = 25.0        # Hz: SIH's ground-truth rate
LANDED_HEIGHT, LANDED_SPEED = 0.3, 0.2    # m above the pad, m/s: down (SIH's truth sits up to ~0.3 m off on the ground)


class MixedVehicles:
    """A fleet's PX4 drones on real PX4 (SIH), the rest on the simulated CRTP vehicles, and ground
    truth of all of them together (collisions between a Crazyflie and an X500 count too)."""

    def __init__(self, mission, links: dict[str, str], run_dir: Path, dist: Path | None = None, *,
                 failsafe=None, battery: dict | None = None, params: dict | None = None, flight_log: bool = False,
                 cf_controller: str | None = DEFAULT_CONTROLLER):
        self.mission = mission
        drones = mission.fleet.drones
        self.px4_names = [d.name for d in drones if d.autopilot == "px4"]
        self.px4 = Px4SihFleet([d for d in drones if d.autopilot == "px4"], run_dir, dist, params, flight_log)
        self._links, self._failsafe, self._battery = links, failsafe, battery
        self._cf_controller = cf_controller
        self.server = None
        self.metrics = None
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def cf_flight(self) -> str:
        """What the simulated Crazyflies fly (the firmware's controller or the stand-in)."""
        return self.server.cf_flight if self.server else "no simulated Crazyflies"

    def start(self, timeout: float = BOOT_TIMEOUT) -> "MixedVehicles":
        others = tuple(d for d in self.mission.fleet.drones if d.name not in self.px4_names)
        self.px4.start(timeout)
        try:
            if others:
                sub = dataclasses.replace(self.mission, fleet=dataclasses.replace(self.mission.fleet, drones=others))
                self.server = VehicleServer(sub, self._links, self._failsafe, self._battery,
                                            cf_controller=self._cf_controller).start()
            deadline = time.monotonic() + 5.0
            while np.isnan(self.positions()).any():
                if time.monotonic() > deadline:
                    raise RuntimeError("no ground truth from SIH (HIL_STATE_QUATERNION) within 5 s")
                time.sleep(0.05)
            radius = [d.vehicle.body_radius for d in self.mission.fleet.drones]
            self.metrics = SwarmMetrics(radius, self.mission.world, self.positions())
            self._t0 = time.monotonic()
            self._thread = threading.Thread(target=self._run, daemon=True, name="ground-truth")
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def links(self) -> dict[str, str]:
        px4 = self.px4.links()
        return {n: px4.get(n, self._links[n]) for n in self.mission.fleet.names}

    def positions(self) -> np.ndarray:
        """Every drone's true position, fleet order. SIH's ground contact lets a PX4 on the ground sit
        up to ~0.3 m below its start altitude; the floor is its pad, so heights are clamped there."""
        out = np.full((len(self.mission.fleet.drones), 3), np.nan)
        truth, _ = self.px4.truth.snapshot()
        for k, n in enumerate(self.mission.fleet.names):
            if n in self.px4_names:
                out[k] = truth[self.px4_names.index(n)]
                out[k, 2] = max(out[k, 2], self.mission.fleet.drones[k].start[2])
            else:
                with self.server.lock:
                    out[k] = self.server.ap.position[self.server.names.index(n)]
        return out

    def _run(self) -> None:
        while not self._stop.wait(1.0 / TRUTH_RATE):
            p = self.positions()
            with self.lock:
                self.metrics.update(time.monotonic() - self._t0, p)

    def summary(self) -> dict:
        cf = {d["name"]: d for d in self.server.summary()["drones"]} if self.server else {}
        truth, velocity = self.px4.truth.snapshot()
        with self.lock:
            m = self.metrics
            drones = []
            for k, d in enumerate(self.mission.fleet.drones):
                row = {"name": d.name, "collisions": int(m.collisions[k]), "geofence_violations": int(m.fence_violations[k]),
                       "min_separation": float(m.min_separation[k]), "distance": float(m.distance[k])}
                if d.name in self.px4_names:
                    j = self.px4_names.index(d.name)
                    row.update(autopilot="px4", landed=bool(truth[j, 2] - d.start[2] < LANDED_HEIGHT
                                                             and np.linalg.norm(velocity[j]) < LANDED_SPEED),
                               instance=self.px4.vehicles[d.name].instance)
                else:
                    row.update(autopilot="simulated", landed=cf[d.name]["landed"], armed=cf[d.name]["armed"],
                               events=cf[d.name]["events"])
                drones.append(row)
            return {"sim_time": time.monotonic() - self._t0, "collisions": len(m.collision_events),
                    "collision_events": [list(e) for e in m.collision_events],
                    "geofence_violations": int(m.fence_violations.sum()),
                    "min_separation": float(m.overall_min_separation), "drones": drones}

    def stop(self, remove: bool = False) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self.server is not None:
            self.server.stop()
        self.px4.stop(remove)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
