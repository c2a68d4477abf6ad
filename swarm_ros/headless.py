"""Fly a whole mission in one process without ROS: the batched twin of the ROS node graph.

Same physics, radio, controllers, beacon schedule and neighbour memory as the simulator and
drone nodes, stepped in one loop. Used for fast checks of missions and controllers, for large
swarms, and as the reference the ROS runs are compared with.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sim.engine import SwarmSim
from .control.beacons import NEIGHBOUR_TIMEOUT, BeaconTable, beacon_due, beacon_interval
from .control.contract import Observations, make_beacon
from .control.mission_controller import MissionController


def fly(mission, on_tick: Callable[[SwarmSim, np.ndarray], None] | None = None) -> SwarmSim:
    """Run `mission` to its end; `on_tick(sim, commands)` is called after every step."""
    sim = SwarmSim(mission)
    drones = mission.fleet.drones
    ctrl = MissionController(mission, drones)
    table = BeaconTable(sim.n, NEIGHBOUR_TIMEOUT)
    interval = beacon_interval(mission.control_rate, mission.radio.beacon_rate)
    sensing_range = np.array([d.vehicle.sensing_range for d in drones])
    radius = np.array([d.vehicle.body_radius for d in drones])
    while not sim.done:
        for dlv in sim.deliveries():
            for r, s, t0, pkt in zip(dlv.receiver, dlv.sender, dlv.sent_at, dlv.packet):
                table.add(int(r), int(s), float(t0), pkt)
        p, v = sim.position.copy(), sim.velocity.copy()
        obs = Observations(sim.t, p, v, table.neighbours(sim.t), mission.world.sense(p, sensing_range))
        cmd = ctrl.step_batch(obs)
        senders = list(range(sim.n)) if beacon_due(sim.tick, interval) else []
        sim.broadcast(senders, [make_beacon(p[k], v[k], radius[k], ctrl.groups[k]) for k in senders])
        sim.step(cmd)
        if on_tick:
            on_tick(sim, cmd)
    return sim
