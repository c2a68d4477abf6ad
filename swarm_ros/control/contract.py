"""The controller contract: one interface for a drone node, the simulator and hardware.

A controller maps observations to velocity setpoints (ENU, m/s). Observations hold only what
a drone may know: its own state, its own sensing, and the beacons its radio received from
neighbours in range. Every controller works on a batch of N drones (arrays with a leading
axis N); the per-drone `step` is the same code on a batch of one, so a drone node and a
batched simulation compute identical numbers.

A beacon is what a drone broadcasts: position (3), velocity (3), body radius, group (the
index of its role in the mission), then an optional controller payload.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from swarm_ros.core.geometry import norm_rows
from swarm_ros.core.sensing import Sensing
from swarm_ros.core.platforms import VehicleParams

BEACON_SIZE = 8   # position 3, velocity 3, radius 1, group 1


def make_beacon(position, velocity, radius: float, group: int, payload=()) -> np.ndarray:
    return np.concatenate([np.asarray(position, float), np.asarray(velocity, float),
                           [float(radius), float(group)], np.asarray(payload, float)])


def make_beacons(position: np.ndarray, velocity: np.ndarray, radius: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The beacons (N, BEACON_SIZE) of N drones at once: row k equals make_beacon(... k ...)."""
    out = np.empty((len(position), BEACON_SIZE))
    out[:, 0:3], out[:, 3:6], out[:, 6], out[:, 7] = position, velocity, radius, group
    return out


@dataclass
class Neighbours:
    """Received beacons for N drones in CSR form: drone i's are rows offsets[i]:offsets[i+1].

    sender: the sender's index in the fleet roster; stamp: mission time the beacon was sent.
    payload: (E, P), rows padded with NaN when senders' payload lengths differ.
    """
    offsets: np.ndarray
    sender: np.ndarray
    stamp: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    radius: np.ndarray
    group: np.ndarray
    payload: np.ndarray

    @classmethod
    def from_beacons(cls, counts: Sequence[int], senders, stamps, beacons: Sequence[np.ndarray]) -> "Neighbours":
        counts = np.asarray(counts, dtype=np.intp)
        offsets = np.zeros(len(counts) + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        e = int(offsets[-1])
        widths = {len(b) for b in beacons}
        if len(widths) == 1 and BEACON_SIZE in widths:
            rows = np.array(beacons, float).reshape(e, BEACON_SIZE)
        else:
            rows = np.full((e, max(widths | {BEACON_SIZE})), np.nan)
            for k, b in enumerate(beacons):
                rows[k, :len(b)] = b
        return cls(offsets, np.asarray(senders, dtype=np.intp).reshape(e), np.asarray(stamps, float).reshape(e),
                   rows[:, 0:3], rows[:, 3:6], rows[:, 6], rows[:, 7].astype(np.intp) if e else np.zeros(0, np.intp),
                   rows[:, BEACON_SIZE:])

    @classmethod
    def from_rows(cls, counts: np.ndarray, sender: np.ndarray, stamp: np.ndarray, rows: np.ndarray) -> "Neighbours":
        """From beacon rows (E, >= BEACON_SIZE) already in CSR order (`counts` per receiver)."""
        offsets = np.zeros(len(counts) + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, np.asarray(sender, np.intp), np.asarray(stamp, float), rows[:, 0:3], rows[:, 3:6],
                   rows[:, 6], rows[:, 7].astype(np.intp), rows[:, BEACON_SIZE:])

    @classmethod
    def empty(cls, n: int) -> "Neighbours":
        return cls.from_beacons(np.zeros(n, dtype=np.intp), [], [], [])

    @property
    def receiver(self) -> np.ndarray:
        """Receiver index of each row."""
        return np.repeat(np.arange(len(self.offsets) - 1), np.diff(self.offsets))

    def rows(self, index: np.ndarray) -> "Neighbours":
        """The neighbour lists of the drones in `index`, in that order."""
        index = np.asarray(index, dtype=np.intp)
        starts, ends = self.offsets[index], self.offsets[index + 1]
        counts = ends - starts
        take = np.concatenate([np.arange(s, t) for s, t in zip(starts, ends)]) if len(index) else np.zeros(0, np.intp)
        take = take.astype(np.intp)
        offsets = np.zeros(len(index) + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        return Neighbours(offsets, self.sender[take], self.stamp[take], self.position[take], self.velocity[take],
                          self.radius[take], self.group[take], self.payload[take])


class StoredNeighbours(Neighbours):
    """Neighbours whose beacon rows are rows `src` of `store` (the beacons as they came off the
    radio, one row per sender and round), gathered into arrays only when first asked for: the
    compiled whole-swarm passes read `store` through `src`, so a beacon round is not copied
    into every receiver's memory."""

    def __init__(self, offsets: np.ndarray, sender: np.ndarray, stamp: np.ndarray, group: np.ndarray,
                 store: np.ndarray, src: np.ndarray, cols: int):
        self.offsets, self.sender, self.stamp, self.group = offsets, sender, stamp, group
        self.store, self.src, self.cols = store, src, cols

    @cached_property
    def _rows(self) -> np.ndarray:
        return self.store[self.src, :self.cols]

    @property
    def position(self) -> np.ndarray:
        return self._rows[:, 0:3]

    @property
    def velocity(self) -> np.ndarray:
        return self._rows[:, 3:6]

    @property
    def radius(self) -> np.ndarray:
        return self._rows[:, 6]

    @property
    def payload(self) -> np.ndarray:
        return self._rows[:, BEACON_SIZE:]


@dataclass
class Observations:
    """What N drones know at mission time t (s since mission start)."""
    t: float
    position: np.ndarray     # (N, 3) own position estimate
    velocity: np.ndarray     # (N, 3) own velocity estimate
    neighbours: Neighbours
    sensing: Sensing
    ids: np.ndarray | None = None   # (N,) own index in the fleet roster (default: 0..N-1)

    def __post_init__(self):
        if self.ids is None:
            self.ids = np.arange(len(self.position), dtype=np.intp)

    @property
    def n(self) -> int:
        return len(self.position)

    def rows(self, index) -> "Observations":
        index = np.asarray(index, dtype=np.intp)
        if len(index) == self.n and (index == np.arange(self.n)).all():
            return self
        return Observations(self.t, self.position[index], self.velocity[index],
                            self.neighbours.rows(index), self.sensing.rows(index), self.ids[index])


class Controller:
    """Base class. Subclasses implement `step_batch`; `step` runs it on a batch of one.

    `vehicles` are the limits of the drones this instance controls, `home` their start
    positions, in the order of the observation rows; `group` is their role's index (drones
    of one group cooperate, e.g. share a formation). Controllers may keep per-drone state
    (one row per drone); a per-drone instance keeps one row.

    A controller is a plugin (control/plugin.py): mission files name it by its entry point in
    the `swarm_ros.controllers` group or by `module:Class`. `Params.read(section)` reads a
    role's params; `bind` checks them against the mission; `service` is the MissionService
    its drones talk to, if any.
    """
    Params = None          # the params schema: a class with `read(section)` (configfile.Section)
    service = None         # a control.plugin.MissionService subclass, or None

    @classmethod
    def bind(cls, params, role):
        """Check a role's `params` against the mission (role: control.plugin.RoleContext) and
        return them completed; raise ConfigError naming the field. Default: as read."""
        return params

    def __init__(self, params, vehicles: Sequence[VehicleParams], home: np.ndarray, group: int = 0):
        self.params, self.group = params, group
        self.vehicles = list(vehicles)
        self.home = np.asarray(home, float).reshape(len(self.vehicles), 3)
        self.radius = np.array([v.body_radius for v in self.vehicles])
        self.max_speed = np.array([v.max_speed for v in self.vehicles])

    def step_batch(self, obs: Observations) -> np.ndarray:
        """Velocity setpoints (N, 3) for the N drones of `obs`."""
        raise NotImplementedError

    def step(self, obs: Observations) -> np.ndarray:
        """Velocity setpoint (3,) for a single drone (obs has one row)."""
        if obs.n != 1:
            raise ValueError(f"step() takes observations of one drone, got {obs.n}")
        return self.step_batch(obs)[0]

    def messages(self) -> list[tuple[int, np.ndarray]]:
        """Messages for a mission service (e.g. CAO's cost evaluator) produced since the last
        call: (row, numbers). Most controllers have none."""
        return []

    def deliver(self, row: int, data: np.ndarray) -> None:
        """A mission service's message for the drone in `row` (ignored by most controllers)."""

    def payload(self) -> np.ndarray:
        """Extra numbers this controller wants broadcast in each drone's beacon: (N, P)."""
        return np.zeros((len(self.vehicles), 0))


class ServiceClient(Controller):
    """A controller that talks to a mission service (CAO's evaluator, the planner): requests
    wait in `outbox` until the node (or headless runner) collects them, answers in `inbox`
    until the next step reads them."""

    def __init__(self, params, vehicles: Sequence[VehicleParams], home: np.ndarray, group: int = 0):
        super().__init__(params, vehicles, home, group)
        self.inbox: list[tuple[int, np.ndarray]] = []
        self.outbox: list[tuple[int, np.ndarray]] = []

    def deliver(self, row: int, data: np.ndarray) -> None:
        self.inbox.append((row, np.asarray(data, float)))

    def messages(self) -> list[tuple[int, np.ndarray]]:
        out, self.outbox = self.outbox, []
        return out


def clip_norm(v: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Scale rows of v (N, 3) down to at most `limit` (N,) in norm."""
    norm = norm_rows(v)
    return v * np.minimum(1.0, limit / np.maximum(norm, 1e-12))[:, None]
