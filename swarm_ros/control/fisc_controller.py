"""The FISC-like law (fisc.py) on the controller contract, for fleets that run it drone by drone.

Each drone computes its command from its own state and the agents listed in its Observations'
neighbours: for FISC these are the agents its own sensors see (positions and velocities within
its sensing radius, which must reach 2h), not radio beacons; nothing is communicated. In a 2-D
channel the drones fly the plane at `altitude` (z is held by a proportional term); in a 3-D
channel all three axes follow the law. Not yet bound to mission files (no `Params.read`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.channel import Channel
from .contract import Controller, Observations
from .fisc import FiscParams, Limits, fisc_step_agent


@dataclass(frozen=True)
class FiscSetup:
    channel: Channel = field(default_factory=Channel)
    fisc: FiscParams = field(default_factory=FiscParams)
    altitude: float = 1.0            # m, flight level in a 2-D channel


class FiscController(Controller):
    Params = FiscSetup

    def step_batch(self, obs: Observations) -> np.ndarray:
        setup: FiscSetup = self.params
        dim = setup.channel.dim
        out = np.zeros((obs.n, 3))
        nb = obs.neighbours
        for i in range(obs.n):
            rows = slice(nb.offsets[i], nb.offsets[i + 1])
            v = self.vehicles[i]
            lim = Limits(v.max_speed, v.max_accel, v.response_time, v.max_climb, v.max_descent)
            cmd, _ = fisc_step_agent(obs.position[i, :dim], obs.velocity[i, :dim], nb.position[rows, :dim],
                                     nb.velocity[rows, :dim], setup.channel, setup.fisc, lim)
            out[i, :dim] = cmd
            if dim == 2:
                out[i, 2] = np.clip((setup.altitude - obs.position[i, 2]) / (2.0 * v.response_time),
                                    -v.max_descent, v.max_climb)
        return out
