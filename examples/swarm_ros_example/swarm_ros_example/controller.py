"""The `consensus` controller: drones agree on a meeting point and spread on a ring around it.

Every `period` seconds of the task phase each drone reports where it is to the coordinator
(coordinator.py); the coordinator answers with the centre of the positions reported that round
and the drone's slot on the ring. The drone flies to its slot (at its role's `radius` and
`altitude`) under swarm_ros's safety layer. Until the first answer it holds its pad's x, y.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swarm_ros.core.configfile import Number, Section
from swarm_ros.control.contract import Observations, ServiceClient, clip_norm
from swarm_ros.control.safety import SafetyParams, safe_velocity

from .coordinator import Coordinator

POSITIVE = Number(0, lo_open=True)


@dataclass(frozen=True)
class ConsensusParams:
    period: float = 2.0      # s between reports
    radius: float = 2.0      # m, the ring around the agreed centre
    altitude: float = 1.5    # m
    gain: float = 1.0        # 1/s towards the slot
    speed: float = 1.0       # m/s cruise (the vehicle limit applies too)
    safety: SafetyParams = field(default_factory=SafetyParams)

    @classmethod
    def read(cls, sec: Section) -> "ConsensusParams":
        """The role's `params`; every error names file, field and what is allowed."""
        d = cls()
        out = cls(sec.get("period", POSITIVE, d.period), sec.get("radius", Number(0), d.radius),
                  sec.get("altitude", POSITIVE, d.altitude), sec.get("gain", POSITIVE, d.gain),
                  sec.get("speed", POSITIVE, d.speed), SafetyParams.read(sec.section("safety", required=False)))
        sec.finish()
        return out


class ConsensusController(ServiceClient):
    Params = ConsensusParams
    service = Coordinator

    @classmethod
    def bind(cls, params: ConsensusParams, role) -> ConsensusParams:
        """The ring's altitude must be inside the world's geofence."""
        ceiling = role.world.bounds_max[2]
        if params.altitude >= ceiling:
            raise role.top.error(f"{role.params_field}.altitude", f"got {params.altitude:g}",
                                 f"a height below the geofence ceiling {ceiling:g} of world {role.world.name!r}")
        return params

    def __init__(self, params: ConsensusParams, vehicles, home, group: int = 0):
        super().__init__(params, vehicles, home, group)
        self.target = np.c_[self.home[:, :2], np.full(len(self.home), params.altitude)]
        self.start = None                         # mission time of the first step (task start)
        self.reported = np.full(len(self.home), -1)

    def step_batch(self, obs: Observations) -> np.ndarray:
        p = self.params
        self.start = obs.t if self.start is None else self.start
        for row, (k, cx, cy, angle) in self.inbox:          # the coordinator's answers
            self.target[row, :2] = [cx + p.radius * np.cos(angle), cy + p.radius * np.sin(angle)]
        self.inbox = []
        k = int((obs.t - self.start + 1e-9) // p.period)
        for row in np.nonzero(self.reported < k)[0]:          # a new round: report where we are
            self.outbox.append((int(row), np.r_[k, obs.position[row]]))
            self.reported[row] = k
        v = clip_norm(p.gain * (self.target - obs.position), np.minimum(p.speed, self.max_speed))
        return safe_velocity(obs, v, self.radius, self.max_speed, p.safety)
