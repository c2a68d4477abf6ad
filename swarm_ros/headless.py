"""Fly a whole mission in one process without ROS: the batched twin of the ROS node graph.

Same physics, radio, controllers, beacon schedule and neighbour memory as the simulator and
drone nodes, stepped in one loop. Used for fast checks of missions and controllers, for large
swarms, and as the reference the ROS runs are compared with.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sim.engine import SwarmSim
from .control.onboard import Onboard


def fly(mission, on_tick: Callable[[SwarmSim, np.ndarray], None] | None = None) -> SwarmSim:
    """Run `mission` to its end; `on_tick(sim, commands)` is called after every step."""
    sim = SwarmSim(mission)
    onboard = Onboard(mission, mission.fleet.drones)
    while not sim.done:
        for dlv in sim.deliveries():
            for r, s, t0, pkt in zip(dlv.receiver, dlv.sender, dlv.sent_at, dlv.packet):
                onboard.receive(int(r), int(s), float(t0), pkt)
        cmd, beacons = onboard.step(sim.tick, sim.position.copy(), sim.velocity.copy())
        if beacons is not None:
            sim.broadcast(list(range(sim.n)), list(beacons))
        sim.step(cmd)
        if on_tick:
            on_tick(sim, cmd)
    return sim
