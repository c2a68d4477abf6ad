"""Objective node: the CAO cost evaluator of a mission, between the drones' reports and answers.

Subscribes to /<drone>/cao/report of every CAO drone; evaluates iteration k once every drone
of the last iteration has reported k, or `report_timeout` wall seconds after the first report
of k (a drone that stopped reporting has left; one that reports for the first time joins);
answers each reporting drone on /<drone>/cao/feedback with [k, Delta_i(k), J(k)] and
publishes the iteration on /swarm/objective. Several replicas may run: they compute the
same answers from the same reports, and drones use the first answer for an iteration.
"""
from __future__ import annotations

import time

from std_msgs.msg import Float64MultiArray, String

from swarm_ros import topics
from swarm_ros.control.cao_service import FEEDBACK, OBJECTIVE, REPORT, ObjectiveService
from swarm_ros.nodes import messages as msgs
from swarm_ros.nodes.runtime import qos, run_service
from swarm_ros.nodes.service_link import Link

CHECK_PERIOD = 0.02   # s between checks for overdue iterations
# what a CAO drone's node sends (plain numbers) and takes: [k, Delta_i(k), J(k)]
LINK = Link(Float64MultiArray, lambda msg: msgs.numbers_unpack(msg, 3))


class ObjectiveNode:
    def __init__(self, node, mission):
        self.node, self.mission = node, mission
        use = mission.services[ObjectiveService.name]
        self.spec = use.config
        self.service = ObjectiveService(mission, use)
        self.evaluator = self.service.evaluator
        self.dims = {i: mission.roles[r].params.dims for i, r in use.drones.items()}
        names = {i: mission.fleet.drones[i].name for i in use.drones}
        self.answer_pub = {i: node.create_publisher(Float64MultiArray, topics.of(n, FEEDBACK), qos(FEEDBACK))
                           for i, n in names.items()}
        self.subs = [node.create_subscription(Float64MultiArray, topics.of(n, REPORT), self._on_report_for(i),
                                              qos(REPORT)) for i, n in names.items()]
        self.status_pub = node.create_publisher(String, OBJECTIVE, qos(OBJECTIVE))
        self.timer = node.create_timer(CHECK_PERIOD, self._evaluate_ready)

    def _on_report_for(self, drone: int):
        def on_report(msg: Float64MultiArray) -> None:
            try:
                data = msgs.numbers_unpack(msg, 2 + self.dims[drone])
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed CAO report: {err}", throttle_duration_sec=5.0)
                return
            self.evaluator.report(drone, int(data[0]), data[2:], time.monotonic())
            self._evaluate_ready()
        return on_report

    def _evaluate_ready(self, *_ignored) -> None:
        for k in self.evaluator.ready(time.monotonic()):
            for drone, (delta, cost) in self.evaluator.evaluate(k).items():
                self.answer_pub[drone].publish(msgs.numbers([k, delta, cost]))
            last = self.evaluator.history[-1]
            self.status_pub.publish(msgs.json_message(
                {"k": k, "t": self.spec.iteration_time(k).item(), "cost": last["cost"],
                 "members": [self.mission.fleet.drones[i].name for i in last["members"]],
                 "kind": self.spec.kind}))


def main(argv=None) -> int:
    return run_service(argv, "objective", ObjectiveNode,
                       lambda m: None if ObjectiveService.name in m.services else
                       "has no objective section; nothing to evaluate")


if __name__ == "__main__":
    raise SystemExit(main())
