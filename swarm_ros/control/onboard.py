"""What runs on board: neighbour memory, own sensing, the mission controller, the beacon schedule.

One ROS-free class for a group of drones (one drone on a companion computer, the drone nodes
of one process, or a whole swarm in the headless runner), so the ROS graph and the batched
runner cannot drift apart. Each row uses only its own drone's state, sensing and beacons.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .beacons import BeaconTable, beacon_due, beacon_interval
from .contract import Observations, make_beacons
from .mission_controller import MissionController


class Onboard:
    def __init__(self, mission, drones: Sequence):
        self.mission, self.drones = mission, list(drones)
        self.controller = MissionController(mission, self.drones)
        self.table = BeaconTable(len(self.drones), mission.radio.neighbour_timeout)   # row k: drone k's memory
        self.interval = beacon_interval(mission.control_rate, mission.radio.beacon_rate)
        self.sensing_range = np.array([d.vehicle.sensing_range for d in self.drones])
        self.radius = np.array([d.vehicle.body_radius for d in self.drones])
        self.ids = np.array([d.index for d in self.drones], dtype=np.intp)

    def receive(self, k: int, sender: int, stamp: float, beacon: np.ndarray) -> None:
        """Drone k's radio heard `beacon`, sent by fleet drone `sender` at mission time `stamp`."""
        self.table.add(k, sender, stamp, beacon)

    def receive_many(self, k: np.ndarray, sender: np.ndarray, stamp: np.ndarray, beacons: np.ndarray,
                     width: np.ndarray | None = None, row: np.ndarray | None = None) -> None:
        """Many beacons at once, in arrival order: beacons[i] heard by drone k[i] from sender[i]
        (its first width[i] numbers, when beacons of different lengths share the NaN-padded rows;
        beacons[row[i]] instead where `row` is given: a radio round's packets as sent)."""
        self.table.add_many(k, sender, stamp, beacons, width, row)

    def feedback(self, k: int, data: np.ndarray) -> None:
        """A mission service (control/plugin.py) answered drone k."""
        self.controller.deliver(k, data)

    def reports(self) -> list[tuple[int, np.ndarray]]:
        """(drone row, numbers) for mission services, produced by the last step."""
        return self.controller.messages()

    def step(self, tick: int, position: np.ndarray, velocity: np.ndarray):
        """Setpoints (n, 3) for control tick `tick`, and the beacons (n, B) to send now (or None)."""
        t = tick / self.mission.control_rate
        obs = Observations(t, position, velocity, self.table.neighbours(t),
                           self.mission.world.sense(position, self.sensing_range, t), self.ids)
        cmd = self.controller.step_batch(obs)
        beacons = None
        if beacon_due(tick, self.interval):
            beacons = make_beacons(position, velocity, self.radius, self.controller.groups)
        return cmd, beacons


WARM_TICKS = 12    # two beacon rounds at the usual 50 Hz control and 10 Hz beacons, and then some


def warm_up(mission, drones: Sequence, ticks: int = WARM_TICKS) -> None:
    """Fly a throwaway Onboard for a few ticks on the pads, hearing beacons from neighbours 2 m
    away, and forget it: compiled kernels load (or compile) and first calls pay their costs
    before the mission starts, not in its first ticks. Over ROS in real time those first ticks
    were late for every drone (26 ticks at 50 drones). Nothing of the copy is kept."""
    copy = Onboard(mission, drones)
    n = len(copy.drones)
    position = np.array([d.start for d in copy.drones], float).reshape(n, 3)
    velocity = np.zeros((n, 3))
    heard = make_beacons(position + (2.0, 0.0, 0.0), velocity, copy.radius, copy.controller.groups)
    m = min(n, 8)                                   # each drone hears up to 8 of the group's beacons
    receiver = np.repeat(np.arange(n), m)
    row = (receiver + np.tile(np.arange(m), n)) % n
    for tick in range(ticks):
        copy.step(tick, position, velocity)
        if beacon_due(tick, copy.interval):
            t = tick / mission.control_rate
            copy.receive_many(receiver, copy.ids[row], np.full(len(row), t), heard[row])
        copy.reports()
