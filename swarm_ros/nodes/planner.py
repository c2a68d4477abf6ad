"""Planner node: the mission's GMT* planning service between drones' requests and their paths.

Subscribes to /<drone>/plan/request (swarm_ros_interfaces/PlanRequest) of every drone flying
the `planned` controller and answers
each request on /<drone>/plan/path with a nav_msgs/Path whose header stamp is the request id
and whose poses are stamped with the mission time to be there (no poses: no path found). The
planning itself is planning/service.py, the same object the headless runner calls in-process;
every drone's roadmap is built at startup so the first requests are answered in milliseconds.
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point, Vector3
from nav_msgs.msg import Path
from swarm_ros_interfaces.msg import PlanRequest, SensedObstacle

from swarm_ros import topics
from swarm_ros.control.planned_service import PATH, REQUEST, PlannerService
from swarm_ros.nodes import messages as msgs
from swarm_ros.nodes.runtime import qos, run_service
from swarm_ros.nodes.service_link import Link
from swarm_ros.planning.service import decode_request, encode_request


def obstacle_message(record) -> SensedObstacle:
    """A request record (planning/service.py) as a SensedObstacle: a box [0, center, size] or a
    cylinder [1, x, y, radius, z_min, z_max, 0] (center (x, y, 0), size (radius, z_min, z_max))."""
    r = [float(v) for v in record]
    if r[0] == SensedObstacle.BOX:
        return SensedObstacle(shape=SensedObstacle.BOX, center=Point(x=r[1], y=r[2], z=r[3]),
                              size=Vector3(x=r[4], y=r[5], z=r[6]))
    return SensedObstacle(shape=SensedObstacle.CYLINDER, center=Point(x=r[1], y=r[2], z=0.0),
                          size=Vector3(x=r[3], y=r[4], z=r[5]))


def obstacle_record(msg: SensedObstacle) -> list:
    c, s = msg.center, msg.size
    if msg.shape == SensedObstacle.BOX:
        return [0.0, c.x, c.y, c.z, s.x, s.y, s.z]
    if msg.shape == SensedObstacle.CYLINDER:
        return [1.0, c.x, c.y, s.x, s.y, s.z, 0.0]
    raise ValueError(f"an obstacle of shape {msg.shape}: expected {SensedObstacle.BOX} (box) or "
                     f"{SensedObstacle.CYLINDER} (cylinder)")


def request_message(data) -> PlanRequest:
    """A drone's request [id, start, goal, k, k records] as a PlanRequest."""
    rid, start, goal, shapes = decode_request(data)
    return PlanRequest(request_id=rid, start=Point(x=float(start[0]), y=float(start[1]), z=float(start[2])),
                       goal=Point(x=float(goal[0]), y=float(goal[1]), z=float(goal[2])),
                       obstacles=[obstacle_message(r) for r in shapes])


def request_numbers(msg: PlanRequest) -> np.ndarray:
    s, g = msg.start, msg.goal
    return encode_request(msg.request_id, [s.x, s.y, s.z], [g.x, g.y, g.z], [obstacle_record(o) for o in msg.obstacles])


# a planned drone sends a PlanRequest and takes a nav_msgs/Path
LINK = Link(answer_type=Path, decode_answer=msgs.path_unpack, request_type=PlanRequest,
            encode_request=request_message, decode_request=request_numbers)


class PlannerNode:
    def __init__(self, node, mission):
        self.node = node
        use = mission.services[PlannerService.name]
        self.service = PlannerService(mission, use)
        self.service.prepare()
        names = {i: mission.fleet.drones[i].name for i in use.drones}
        node.get_logger().info(f"roadmaps of {len(names)} drones built in {self.service.warm_up_s:.2f} s")
        self.path_pub = {i: node.create_publisher(Path, topics.of(n, PATH), qos(PATH)) for i, n in names.items()}
        self.subs = [node.create_subscription(PlanRequest, topics.of(n, REQUEST), self._on_request_for(i),
                                              qos(REQUEST)) for i, n in names.items()]

    def _on_request_for(self, drone: int):
        def on_request(msg: PlanRequest) -> None:
            try:
                [(_, answer)] = self.service.request(drone, request_numbers(msg))
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
