"""The planned controller's mission service: the GMT* planner (planning/service.py).

Drones flying `planned` send requests on /<drone>/plan/request ([id = mission time, start xyz,
goal xyz, k, k sensed obstacles x 7]; a swarm_ros_interfaces/PlanRequest over ROS) and get a nav_msgs/Path on /<drone>/plan/path (header
stamp = the request id, each pose stamped with the mission time to be there; no poses: no
path). The planner node is nodes/planner.py; a headless run calls the same object in-process.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.planning.service import PlanningService, decode_answer
from .plugin import MissionService, ServiceUse

REQUEST, PATH = "plan/request", "plan/path"


class PlannerService(MissionService):
    name = executable = "planner"
    module = "swarm_ros.nodes.planner"
    request_topic, answer_topic = REQUEST, PATH
    link = "swarm_ros.nodes.planner:LINK"
    record, record_when = "plan", "missions with planned roles"
    topics = {REQUEST: "swarm_ros_interfaces/msg/PlanRequest", PATH: "nav_msgs/msg/Path"}
    kept = {REQUEST: 20, PATH: 20}

    def __init__(self, mission, use: ServiceUse):
        super().__init__(mission, use)
        specs = {i: mission.roles[role].params.spec(mission.fleet.drones[i].vehicle) for i, role in use.drones.items()}
        self.planning = PlanningService(mission.world, specs)
        self.warm_up_s = None

    @property
    def log(self) -> list:
        """Every request answered: what was asked, whether a path was found, how long it took."""
        return self.planning.log

    def prepare(self) -> None:
        self.warm_up_s = self.planning.warm_up()     # every drone's roadmap, before the first request

    def request(self, drone: int, data: np.ndarray, clock: float = 0.0) -> list:
        return [(drone, self.planning.answer(drone, data))]    # raises ValueError for a malformed request

    def summary(self) -> dict:
        return {"planning": self.planning.summary()}

    @classmethod
    def path_of(cls, answer: np.ndarray) -> np.ndarray:
        return np.asarray(decode_answer(answer)[2], float).reshape(-1, 3)
