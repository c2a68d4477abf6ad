"""Objective node: the CAO cost evaluator of a mission, between the drones' reports and answers.

Subscribes to /<drone>/cao/report of every CAO drone; evaluates iteration k once every drone
of the last iteration has reported k, or `report_timeout` wall seconds after the first report
of k (a drone that stopped reporting has left; one that reports for the first time joins);
answers each reporting drone on /<drone>/cao/feedback with [k, Delta_i(k), J(k)] and
publishes the iteration on /swarm/objective. In lockstep (`lockstep`) it waits at least
LOCKSTEP_WAIT for the missing reports, and up to REPORT_PATIENCE while the missing drones'
report publishers live: a drone process slowed down by a loaded machine must not be left out
of an iteration the headless runner would count it in. Reports, answers and iterations travel as
swarm_ros_interfaces CaoReport, CaoFeedback and CaoIteration (LINK, which the drones' nodes
and the runner use too). Several replicas may run: they compute the
same answers from the same reports, and drones use the first answer for an iteration.
"""
from __future__ import annotations

import array
import time

import numpy as np
from swarm_ros_interfaces.msg import CaoFeedback, CaoIteration, CaoReport

from swarm_ros import topics
from swarm_ros.control.cao_service import FEEDBACK, OBJECTIVE, REPORT, ObjectiveService
from swarm_ros.nodes.runtime import REPORT_PATIENCE, alive, qos, run_service
from swarm_ros.nodes.service_link import Link

CHECK_PERIOD = 0.02   # s between checks for overdue iterations
LOCKSTEP_WAIT = 1.0   # s (wall) of waiting in lockstep for reports of drones with no publisher left


def finite(data: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(data).all():
        raise ValueError(f"a {what} with a non-finite number: {data.tolist()}")
    return data


def report_message(data) -> CaoReport:
    """A drone's report [k, t, decision...] as a CaoReport."""
    return CaoReport(iteration=int(data[0]), mission_time=float(data[1]),
                     decision=array.array("d", np.asarray(data[2:], float).tolist()))


def report_numbers(msg: CaoReport) -> np.ndarray:
    return finite(np.r_[msg.iteration, msg.mission_time, np.asarray(msg.decision, float)], "CAO report")


def feedback_message(data) -> CaoFeedback:
    """The evaluator's answer [k, Delta_i(k), J(k)] as a CaoFeedback."""
    return CaoFeedback(iteration=int(data[0]), delta=float(data[1]), cost=float(data[2]))


def feedback_numbers(msg: CaoFeedback) -> np.ndarray:
    return finite(np.array([msg.iteration, msg.delta, msg.cost], float), "CAO feedback")


def iteration_message(it: dict) -> CaoIteration:
    """An evaluated iteration {k, t, cost, members, kind} as a CaoIteration."""
    return CaoIteration(iteration=int(it["k"]), mission_time=float(it["t"]), cost=float(it["cost"]),
                        members=list(it["members"]), kind=it["kind"])


def iteration_dict(msg: CaoIteration) -> dict:
    return {"k": msg.iteration, "t": msg.mission_time, "cost": msg.cost, "members": list(msg.members),
            "kind": msg.kind}


LINK = Link(answer_type=CaoFeedback, decode_answer=feedback_numbers, request_type=CaoReport,
            encode_request=report_message, decode_request=report_numbers, encode_answer=feedback_message,
            monitor_type=CaoIteration, monitor_message=iteration_message, monitor_dict=iteration_dict)


class ObjectiveNode:
    def __init__(self, node, mission, lockstep: bool = False):
        self.node, self.mission, self.lockstep = node, mission, lockstep
        use = mission.services[ObjectiveService.name]
        self.spec = use.config
        self.wait = max(self.spec.report_timeout, LOCKSTEP_WAIT) if lockstep else self.spec.report_timeout
        self.service = ObjectiveService(mission, use)
        self.evaluator = self.service.evaluator
        self.dims = {i: mission.roles[r].params.dims for i, r in use.drones.items()}
        names = {i: mission.fleet.drones[i].name for i in use.drones}
        self.answer_pub = {i: node.create_publisher(CaoFeedback, topics.of(n, FEEDBACK), qos(FEEDBACK))
                           for i, n in names.items()}
        self.subs = {i: node.create_subscription(CaoReport, topics.of(n, REPORT), self._on_report_for(i),
                                                 qos(REPORT)) for i, n in names.items()}
        self.status_pub = node.create_publisher(CaoIteration, OBJECTIVE, qos(OBJECTIVE))
        self.timer = node.create_timer(CHECK_PERIOD, self._evaluate_ready)

    def _on_report_for(self, drone: int):
        def on_report(msg: CaoReport) -> None:
            try:
                data = report_numbers(msg)
                if len(data) != 2 + self.dims[drone]:
                    raise ValueError(f"expected a {self.dims[drone]}-D decision, got {len(data) - 2} numbers")
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed CAO report: {err}", throttle_duration_sec=5.0)
                return
            self.evaluator.report(drone, int(data[0]), data[2:], time.monotonic())
            self._evaluate_ready()
        return on_report

    def _evaluate_ready(self, *_ignored) -> None:
        now = time.monotonic()
        for k in self.evaluator.ready(now, self.wait):
            if self.lockstep and self._still_coming(k, now):
                break                                    # iterations are evaluated in order
            for drone, (delta, cost) in self.evaluator.evaluate(k).items():
                self.answer_pub[drone].publish(feedback_message([k, delta, cost]))
            last = self.evaluator.history[-1]
            self.status_pub.publish(iteration_message(
                {"k": k, "t": self.spec.iteration_time(k).item(), "cost": last["cost"],
                 "members": [self.mission.fleet.drones[i].name for i in last["members"]],
                 "kind": self.spec.kind}))

    def _still_coming(self, k: int, now: float) -> bool:
        """Lockstep: iteration k lacks reports whose drones still publish, and they have had
        less than REPORT_PATIENCE."""
        missing = self.evaluator.missing(k)
        return bool(missing) and now - self.evaluator.first_seen[k] < REPORT_PATIENCE and \
            alive(self.subs[i] for i in missing)


def main(argv=None) -> int:
    return run_service(argv, "objective", ObjectiveNode,
                       lambda m: None if ObjectiveService.name in m.services else
                       "has no objective section; nothing to evaluate", {"lockstep": False})


if __name__ == "__main__":
    raise SystemExit(main())
