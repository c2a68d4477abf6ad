"""Planner node: the mission's GMT* planning service between drones' requests and their paths.

Subscribes to /<drone>/plan/request of every drone flying the `planned` controller and answers
each request on /<drone>/plan/path with a nav_msgs/Path whose header stamp is the request id
and whose poses are stamped with the mission time to be there (no poses: no path found). The
planning itself is planning/service.py, the same object the headless runner calls in-process;
every drone's roadmap is built at startup so the first requests are answered in milliseconds.
"""
from __future__ import annotations

from nav_msgs.msg import Path
from std_msgs.msg import Float64MultiArray

from swarm_ros import topics
from swarm_ros.control.planned_service import PATH, REQUEST, PlannerService
from swarm_ros.nodes import messages as msgs
from swarm_ros.nodes.runtime import qos, run_service
from swarm_ros.nodes.service_link import Link

LINK = Link(Path, msgs.path_unpack)   # a planned drone sends numbers, takes a nav_msgs/Path


class PlannerNode:
    def __init__(self, node, mission):
        self.node = node
        use = mission.services[PlannerService.name]
        self.service = PlannerService(mission, use)
        self.service.prepare()
        names = {i: mission.fleet.drones[i].name for i in use.drones}
        node.get_logger().info(f"roadmaps of {len(names)} drones built in {self.service.warm_up_s:.2f} s")
        self.path_pub = {i: node.create_publisher(Path, topics.of(n, PATH), qos(PATH)) for i, n in names.items()}
        self.subs = [node.create_subscription(Float64MultiArray, topics.of(n, REQUEST), self._on_request_for(i),
                                              qos(REQUEST)) for i, n in names.items()]

    def _on_request_for(self, drone: int):
        def on_request(msg: Float64MultiArray) -> None:
            try:
                [(_, answer)] = self.service.request(drone, msg.data)
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed plan request: {err}", throttle_duration_sec=5.0)
                return
            self.path_pub[drone].publish(msgs.path_message(answer, topics.WORLD_FRAME))
            last = self.service.log[-1]
            if not last["found"]:
                self.node.get_logger().warning(f"no path for drone {drone}: {last['reason']}")
        return on_request


def main(argv=None) -> int:
    return run_service(argv, "planner", PlannerNode, lambda m: None if PlannerService.name in m.services else
                       "has no role with the planned controller; nothing to plan")


if __name__ == "__main__":
    raise SystemExit(main())
