"""Fly a whole mission in one process without ROS: the batched twin of the ROS node graph.

Same physics, radio, controllers, beacon schedule and neighbour memory as the simulator and
drone nodes, stepped in one loop. Used for fast checks of missions and controllers, for large
swarms, and as the reference the ROS runs are compared with.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from sim.engine import SwarmSim
from .control.cao_evaluator import CAOEvaluator
from .control.onboard import Onboard
from .control.planned import planning_service


def evaluator_for(mission) -> CAOEvaluator | None:
    """The mission's CAO cost evaluator (None without an objective)."""
    if mission.objective is None:
        return None
    return CAOEvaluator(mission.objective, mission.world, mission.cao_roles())


def fly(mission, on_tick: Callable[[SwarmSim, np.ndarray], None] | None = None,
        absent: Callable[[int, float], bool] | None = None) -> SwarmSim:
    """Run `mission` to its end; `on_tick(sim, commands)` is called after every step.

    The CAO evaluator (if any) answers each iteration in the tick its reports arrive; the
    planning service (if any) answers each plan request in the tick it is made.
    `absent(drone, t)`: drones that are down at mission time t (killed, or not yet joined):
    they get no command (hover, or stay on the ground, as the simulator does for a silent
    drone) and their reports never reach the evaluator.
    """
    sim = SwarmSim(mission)
    onboard = Onboard(mission, mission.fleet.drones)
    evaluator = evaluator_for(mission)
    planner = planning_service(mission)
    if planner is not None:
        planner.warm_up()               # roadmaps built up front, as the planner node does
    planned = set(mission.planned_roles())
    while not sim.done:
        for dlv in sim.deliveries():
            for r, s, t0, pkt in zip(dlv.receiver, dlv.sender, dlv.sent_at, dlv.packet):
                onboard.receive(int(r), int(s), float(t0), pkt)
        cmd, beacons = onboard.step(sim.tick, sim.position.copy(), sim.velocity.copy())
        if beacons is not None:
            sim.broadcast(list(range(sim.n)), list(beacons))
        down = [k for k in range(sim.n) if absent(k, sim.t)] if absent else []
        cmd[down] = 0.0
        for k, data in onboard.reports():
            if k in down:
                continue
            if k in planned:            # the planner answers in the same tick
                onboard.feedback(k, planner.answer(k, data))
            elif evaluator is not None:
                evaluator.report(k, int(data[0]), data[2:])
        if evaluator is not None:
            for it in sorted(evaluator.pending):
                for drone, (delta, cost) in evaluator.evaluate(it).items():
                    onboard.feedback(drone, np.array([it, delta, cost]))
        sim.step(cmd)
        if on_tick:
            on_tick(sim, cmd)
    if planner is not None:
        sim.extra["planning"] = planner.summary()
        sim.services["planner"] = planner
    if evaluator is not None:
        sim.extra["objective"] = evaluator.summary()
        sim.extra["objective_history"] = evaluator.history
    return sim
