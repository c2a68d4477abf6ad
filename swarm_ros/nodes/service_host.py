"""The generic node of a mission service (control/plugin.py), in whatever messages its Link names
(plain numbers by default, nodes/service_link.py).

It subscribes to the request topic of every drone the service serves, hands each request to
the service with the wall clock, answers on the drones' answer topics, asks the service every
CHECK_PERIOD for answers that became due (`flush`), and after each batch of answers publishes
the service's summary figures on its monitor topic, where the runner picks them up. A
plugin's node is then one line: `def main(argv=None): return host(argv, MyService)`.
"""
from __future__ import annotations

import time


from swarm_ros import topics
from swarm_ros.nodes.runtime import qos, run_service
from swarm_ros.nodes.service_link import link_of

CHECK_PERIOD = 0.02   # s between asking the service for answers that are due


class ServiceHost:
    def __init__(self, node, mission, kind):
        self.node = node
        use = mission.services[kind.name]
        self.service = kind(mission, use)
        self.service.prepare()
        names = {i: mission.fleet.drones[i].name for i in use.drones}
        ask, answer, self.link = kind.request_topic, kind.answer_topic, link_of(kind)
        self.answer_pub = {i: node.create_publisher(self.link.answer_type, topics.of(n, answer), qos(answer))
                           for i, n in names.items()} if answer else {}
        self.subs = [node.create_subscription(self.link.request_type, topics.of(n, ask), self._on_request_for(i),
                                              qos(ask)) for i, n in names.items()]
        self.monitor = (node.create_publisher(self.link.monitor_type, kind.monitor, qos(kind.monitor))
                        if kind.monitor else None)
        self.timer = node.create_timer(CHECK_PERIOD, self._flush)

    def _on_request_for(self, drone: int):
        def on_request(msg) -> None:
            try:
                answers = self.service.request(drone, self.link.decode_request(msg), time.monotonic())
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed request: {err}", throttle_duration_sec=5.0)
                return
            self._send(answers + self.service.flush(time.monotonic()))
        return on_request

    def _flush(self, *_ignored) -> None:
        self._send(self.service.flush(time.monotonic()))

    def _send(self, answers) -> None:
        for drone, data in answers:
            if drone in self.answer_pub:
                self.answer_pub[drone].publish(self.link.encode_answer(data))
        if answers and self.monitor is not None:
            self.monitor.publish(self.link.monitor_message(self.service.summary()))


def host(argv, kind) -> int:
    """The main of the node of mission service class `kind`."""
    return run_service(argv, kind.name, lambda node, mission: ServiceHost(node, mission, kind),
                       lambda m: None if kind.name in m.services else
                       f"has no role whose controller needs the {kind.name} service")
