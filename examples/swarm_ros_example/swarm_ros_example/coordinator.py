"""The coordinator of `consensus` drones: a mission service (swarm_ros.control.plugin).

Request [k, x, y, z]: drone i is at (x, y, z) in round k. Once every drone it serves has
reported round k (or `WAIT` wall seconds after the round's first report in a ROS run, so a lost
drone does not stall the others), it answers each reporter with [k, centre x, centre y, slot
angle]: the mean of the reported positions, and evenly spaced angles in fleet order. The class
is ROS-free: the headless runner calls it in-process, `main` runs it as a node.
"""
from __future__ import annotations

import numpy as np

from swarm_ros.control.plugin import MissionService

REPORT, CENTRE = "consensus/report", "consensus/centre"
ROUNDS = "/swarm/consensus"
WAIT = 1.0     # s (wall clock) a round waits for missing reports


class Coordinator(MissionService):
    name = "coordinator"
    module, package, executable = "swarm_ros_example.coordinator", "swarm_ros_example", "swarm_ros_example_coordinator"
    request_topic, answer_topic, monitor = REPORT, CENTRE, ROUNDS
    record, record_when = "consensus", "missions with consensus roles"
    topics = {REPORT: "std_msgs/msg/Float64MultiArray", CENTRE: "std_msgs/msg/Float64MultiArray",
              ROUNDS: "std_msgs/msg/String"}
    kept = {REPORT: 20, CENTRE: 20, ROUNDS: 1}

    def __init__(self, mission, use):
        super().__init__(mission, use)
        self.rounds: dict[int, dict] = {}         # round -> {drone: position}
        self.first: dict[int, float] = {}         # round -> clock of its first report
        self.centres: list[list[float]] = []
        self.done = -1

    def request(self, drone, data, clock=0.0):
        k = int(data[0])
        if k > self.done:
            self.rounds.setdefault(k, {})[drone] = np.asarray(data[1:4], float)
            self.first.setdefault(k, clock)
        return []

    def flush(self, clock=None):
        out = []
        for k in sorted(self.rounds):
            complete = set(self.rounds[k]) == set(self.use.drones)
            if complete or (clock is not None and clock - self.first[k] >= WAIT):
                out += self._answer(k, self.rounds.pop(k))
        return out

    def _answer(self, k, reports):
        drones = sorted(reports)
        centre = np.mean([reports[i] for i in drones], axis=0)
        self.centres.append(centre[:2].round(9).tolist())
        self.done = max(self.done, k)
        return [(i, np.array([k, centre[0], centre[1], 2 * np.pi * n / len(drones)])) for n, i in enumerate(drones)]

    def summary(self):
        return {"consensus": {"rounds": len(self.centres), "first_centre": self.centres[0] if self.centres else None,
                              "last_centre": self.centres[-1] if self.centres else None}}


def main(argv=None) -> int:
    from swarm_ros.nodes.service_host import host    # ROS only when it runs as a node
    return host(argv, Coordinator)


if __name__ == "__main__":
    raise SystemExit(main())
