"""Fly a whole mission in one process without ROS: the batched twin of the ROS node graph.

Same physics, radio, controllers, beacon schedule and neighbour memory as the simulator and
drone nodes, stepped in one loop; the mission's services (control/plugin.py) run in-process.
Used for fast checks of missions and controllers, for large swarms, and as the reference the
ROS runs are compared with.
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from sim.engine import SwarmSim
from .control.onboard import Onboard


def services_for(mission) -> dict:
    """Name -> a running instance of each of the mission's services."""
    return {name: use.kind(mission, use) for name, use in mission.services.items()}


class FlightObserver(Protocol):
    """What watches a headless flight (a live view, a logger) without the runner knowing it."""

    def answered(self, drone: int, service, answer: np.ndarray) -> None:
        """A mission service answered drone `drone` (fleet index) with `answer`."""

    def ticked(self, sim: SwarmSim, commands: np.ndarray) -> None:
        """After every step; may block (a live view paces the flight to real time)."""


def fly(mission, on_tick: Callable[[SwarmSim, np.ndarray], None] | None = None,
        absent: Callable[[int, float], bool] | None = None, observer: FlightObserver | None = None) -> SwarmSim:
    """Run `mission` to its end; `on_tick(sim, commands)` is called after every step, and
    `observer` is told of every step and every service answer.

    Each mission service answers the requests of a tick in that tick: at once, or once all of
    the tick's requests are in (`flush`), e.g. an evaluator each complete iteration.
    `absent(drone, t)`: drones that are down at mission time t (killed, or not yet joined):
    they get no command (hover, or stay on the ground, as the simulator does for a silent
    drone) and their requests never reach a service.
    """
    sim = SwarmSim(mission)
    onboard = Onboard(mission, mission.fleet.drones)
    services = services_for(mission)
    for service in services.values():
        service.prepare()                # e.g. roadmaps built up front, as the planner node does
    everyone = np.arange(sim.n)
    route = {i: services[name] for name, use in mission.services.items() for i in use.drones}
    while not sim.done:
        for dlv in sim.deliveries():
            rows, row = dlv.rows()
            onboard.receive_many(dlv.receiver, dlv.sender, dlv.sent_at, rows, row=row)
        cmd, beacons = onboard.step(sim.tick, sim.position.copy(), sim.velocity.copy())
        if beacons is not None:
            sim.broadcast(everyone, beacons)
        down = [k for k in range(sim.n) if absent(k, sim.t)] if absent else []
        cmd[down] = 0.0
        for k, data in onboard.reports():
            if k in down or k not in route:
                continue
            for drone, answer in route[k].request(k, data):
                onboard.feedback(drone, answer)
                if observer:
                    observer.answered(drone, route[k], answer)
        for service in services.values():
            for drone, answer in service.flush():
                onboard.feedback(drone, answer)
                if observer:
                    observer.answered(drone, service, answer)
        sim.step(cmd)
        if on_tick:
            on_tick(sim, cmd)
        if observer:
            observer.ticked(sim, cmd)
    for name, service in services.items():
        sim.extra.update(service.summary())
        sim.services[name] = service
    return sim
