"""The ROS-free simulation core: physics, radio and metrics stepped at the control rate.

The simulator node and the headless runner both drive this class; neither physics nor radio
knows anything about ROS. The physics is whatever backend the mission chose (`mission.physics`,
a swarm_ros.physics.PhysicsBackend with its options): it builds the stepped swarm.
"""
from __future__ import annotations

import numpy as np

from .metrics import SwarmMetrics
from .radio import Radio


class SwarmSim:
    def __init__(self, mission):
        self.mission = mission
        drones = mission.fleet.drones
        vehicles = [d.vehicle for d in drones]
        self.names = [d.name for d in drones]
        self.physics = mission.physics.create(mission)
        self.rng = np.random.default_rng(mission.seed)
        self.radio = Radio([v.radio_range for v in vehicles], mission.radio, self.rng)
        self.metrics = SwarmMetrics([v.body_radius for v in vehicles], mission.world, self.physics.position,
                                    mission.phases)
        self.tick = 0
        self.land_from: np.ndarray | None = None   # positions when the landing phase began
        self.extra: dict = {}      # figures of mission services (e.g. the CAO objective) for the summary
        self.services: dict = {}   # mission services a headless run hosted, kept for inspection

    @property
    def n(self) -> int:
        return self.physics.n

    @property
    def t(self) -> float:
        return self.tick / self.mission.control_rate

    @property
    def done(self) -> bool:
        return self.tick >= self.mission.ticks

    @property
    def position(self) -> np.ndarray:
        return self.physics.position

    @property
    def velocity(self) -> np.ndarray:
        return self.physics.velocity

    @property
    def orientation(self) -> np.ndarray:
        """(N, 4) quaternions (x, y, z, w): the rigid body's attitude; identity for the point mass."""
        q = getattr(self.physics, "orientation", None)
        if q is None:
            q = np.zeros((self.n, 4))
            q[:, 3] = 1.0
        return q

    @property
    def angular_velocity(self) -> np.ndarray:
        """(N, 3) world-frame body rates; zero for the point mass."""
        w = getattr(self.physics, "omega", None)
        return np.zeros((self.n, 3)) if w is None else w

    def step(self, v_cmd: np.ndarray) -> None:
        """Hold the velocity commands for one control period."""
        m = self.mission
        self.physics.step(v_cmd, 1.0 / m.physics_rate, m.substeps)
        self.tick += 1
        self.metrics.update(self.t, self.physics.position)
        if self.land_from is None and self.t >= m.phases.task_end:
            self.land_from = self.physics.position.copy()

    def broadcast(self, senders, packets) -> None:
        self.radio.broadcast(self.t, self.physics.position, senders, packets)

    def deliveries(self):
        return self.radio.due(self.t)

    def landed(self, height: float = 0.05, speed: float = 0.1) -> np.ndarray:
        return (self.position[:, 2] < height) & (np.linalg.norm(self.velocity, axis=1) < speed)

    def land_targets(self) -> np.ndarray | None:
        """(N, 2) where each drone should touch down: its start pad (land at home) or the point
        below where the landing phase found it (land here); None before the landing began."""
        if self.land_from is None:
            return None
        if self.mission.phases.land_at == "home":
            return np.array([d.start[:2] for d in self.mission.fleet.drones], float)
        return self.land_from[:, :2].copy()

    def summary(self) -> dict:
        """Per-drone and whole-run figures, as printed at the end of a mission (headless and over ROS:
        the simulator node sends this dict). Separation by phase: sim/metrics.py. `landed`: on the
        ground and still; `land_error`: metres between where it stands and where it should have
        landed (None when the run ended before the landing phase)."""
        m, fleet = self.metrics, self.mission.fleet
        landed, pos, targets = self.landed(), self.position, self.land_targets()
        drones = [{"name": d.name, "type": d.type, "role": d.role, "distance": float(m.distance[k]),
                   **m.drone_separations(k), "collisions": int(m.collisions[k]),
                   "geofence_violations": int(m.fence_violations[k]), "landed": bool(landed[k]),
                   "position": [round(float(x), 3) for x in pos[k]],
                   "land_error": None if targets is None else round(float(np.linalg.norm(pos[k, :2] - targets[k])), 3)}
                  for k, d in enumerate(fleet.drones)]
        return {"mission": self.mission.name, "sim_time": self.t, "ticks": self.tick, "drones": drones,
                "collisions": len(m.collision_events), "geofence_violations": int(m.fence_violations.sum()),
                **m.separations(), "radio": self.radio.stats.as_dict(), **self.extra}
