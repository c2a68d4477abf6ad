"""CAO's mission service: the cost evaluator, configured by the mission's `objective` section.

Drones flying the `cao` controller report each iteration's decision on /<drone>/cao/report
([iteration k, mission time, decision x...], a swarm_ros_interfaces/CaoReport over ROS) and get
[k, Delta_i(k), J(k)] back on /<drone>/cao/feedback (a CaoFeedback); the evaluator node
(nodes/objective.py) publishes each evaluated iteration on /swarm/objective (a CaoIteration:
k, t, cost, members, kind), which the runner turns into the summary's `objective` figures.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .cao_evaluator import CAOEvaluator, ObjectiveSpec, objective_summary
from .cao_objectives import MAX_GRID_CELLS, grid_cells
from .plugin import MissionService, ServiceContext, ServiceUse

REPORT, FEEDBACK = "cao/report", "cao/feedback"
OBJECTIVE = "/swarm/objective"


class ObjectiveService(MissionService):
    name = executable = "objective"
    module = "swarm_ros.nodes.objective"
    section = "objective"
    request_topic, answer_topic, monitor = REPORT, FEEDBACK, OBJECTIVE
    link = "swarm_ros.nodes.objective:LINK"
    record, record_when = "objective", "missions with an objective"
    topics = {REPORT: "swarm_ros_interfaces/msg/CaoReport", FEEDBACK: "swarm_ros_interfaces/msg/CaoFeedback",
              OBJECTIVE: "swarm_ros_interfaces/msg/CaoIteration"}
    # a subscriber matched late (discovery can take longer than a fast lockstep run) still gets these
    kept = {OBJECTIVE: 5000, REPORT: 20, FEEDBACK: 20}

    @classmethod
    def configure(cls, ctx: ServiceContext) -> ObjectiveSpec:
        """The `objective` section, required with CAO roles; binds each CAO role's params to it
        (iteration schedule) and to the world (its map)."""
        top, world = ctx.top, ctx.world
        cao = [ctx.roles[name] for name in ctx.served]
        if not top.has(cls.section):
            raise top.error(cls.section, "missing",
                            f"an objective section: role {cao[0].name!r} uses the {cao[0].controller} controller")
        spec = ObjectiveSpec.read(top.section(cls.section), [r.name for r in cao], ctx.phases.takeoff_end)
        for where, params in [("params", spec.params)] + [(f"changes[{k}].params", p) for k, (_, p) in enumerate(spec.changes)]:
            res = getattr(params, "resolution", None)
            if res is not None and grid_cells(world, res) > MAX_GRID_CELLS:
                raise top.error(f"{cls.section}.{where}.resolution", f"got {res:g}: {grid_cells(world, res)} cells over "
                                f"world {world.name!r}", f"a resolution giving at most {MAX_GRID_CELLS} grid cells")
        objective = spec.build(world)
        need = objective.d
        for r in cao:
            field = f"roles.{r.name}.params.altitude"
            if r.params.dims != need:
                fixed = "[h, h] (one altitude)" if need == 2 else "[lowest, highest] with lowest < highest"
                raise top.error(field, f"objective {spec.kind} needs {need}-D decisions", f"an altitude band {fixed}")
            if r.params.altitude[0] < objective.floor:
                raise top.error(field, f"got {list(r.params.altitude)}",
                                f"altitudes from {objective.floor:g} m up: the terrain of objective {spec.kind} "
                                "reaches that high (with 0.5 m to spare)")
            if r.params.altitude[0] >= world.bounds_max[2]:
                raise top.error(field, f"got {list(r.params.altitude)}",
                                f"altitudes below the geofence ceiling {world.bounds_max[2]:g} of world {world.name!r}")
            ctx.roles[r.name] = replace(r, params=r.params.bind(world, spec, ctx.seed))
        return spec

    def __init__(self, mission, use: ServiceUse):
        super().__init__(mission, use)
        self.evaluator = CAOEvaluator(use.config, mission.world, use.drones)

    def request(self, drone: int, data: np.ndarray, clock: float = 0.0) -> list:
        self.evaluator.report(drone, int(data[0]), data[2:], clock)
        return []

    def flush(self, clock: float | None = None) -> list:
        ev = self.evaluator
        due = sorted(ev.pending) if clock is None else ev.ready(clock)
        return [(drone, np.array([k, delta, cost])) for k in due for drone, (delta, cost) in ev.evaluate(k).items()]

    def summary(self) -> dict:
        return {"objective": self.evaluator.summary(), "objective_history": self.evaluator.history}

    @classmethod
    def summarize(cls, use: ServiceUse, messages: list[dict]) -> dict:
        return {"objective": objective_summary(use.config.kind, messages)}

    @classmethod
    def progress(cls, messages: list[dict]) -> str:
        return f"  J {messages[-1]['cost']:.4g}" if messages else ""
