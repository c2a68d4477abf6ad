"""Drone nodes: one ROS node per drone, the same whether the vehicle is simulated or real.

Each node subscribes to its own /<drone>/odom and /<drone>/radio/rx and publishes its own
/<drone>/cmd and /<drone>/radio/tx (and, when its controller needs one, talks to a mission
service on the request and answer topics the service declares, control/plugin.py). On each
odometry it builds the drone's observations (own state, the beacons its radio received, the
obstacles its own sensor sees of the map) and answers with a velocity setpoint stamped like
the odometry; on beacon ticks it broadcasts.

Drone nodes sharing a process (simulated swarms) evaluate their controllers together: once
every node of the process has its odometry for a tick, one batched controller call computes
all their setpoints. Each row uses only that drone's own observations; the contract
guarantees the same numbers as evaluating each drone alone (tested), so this only saves the
per-call overhead. One process per drone (`--per-drone-processes`, or hardware) is a group of one.
"""
from __future__ import annotations

import sys

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets

from swarm_ros import topics
from swarm_ros.control.onboard import Onboard
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import Process, mission_from, qos, qos_latest
from swarm_ros.nodes.service_link import link_of


class DroneGroup:
    """The drone nodes of one process; node k flies drone `drones[k]`."""

    def __init__(self, nodes, mission, names: list[str]):
        self.mission = mission
        self.drones = [mission.fleet.by_name(n) for n in names]
        self.roster = {d.name: d.index for d in mission.fleet.drones}
        self.onboard = Onboard(mission, self.drones)
        n = len(self.drones)
        self.stamp = -1                          # the tick being gathered (ns)
        self.position, self.velocity = np.zeros((n, 3)), np.zeros((n, 3))
        self.have = np.zeros(n, dtype=bool)
        self.answered, self.last_cmd = -1, np.zeros((n, 3))   # the last tick answered, and how
        self.loggers = [node.get_logger() for node in nodes]
        self.cmd_pub = [node.create_publisher(TwistStamped, topics.CMD, qos(topics.CMD)) for node in nodes]
        self.tx_pub = [node.create_publisher(RadioBeacon, topics.RADIO_TX, qos(topics.RADIO_TX))
                       for node in nodes]
        # drones whose controller needs a mission service send it requests and take its answers
        self.report_pub = {}
        for k, node in enumerate(nodes):
            use = mission.service_of(self.drones[k].index)
            if use is None or use.kind.request_topic is None:
                continue
            service, link = use.kind, link_of(use.kind)
            pub = node.create_publisher(link.request_type, service.request_topic, qos(service.request_topic))
            self.report_pub[k] = (pub, link.encode_request)
            if service.answer_topic is not None:
                node.create_subscription(link.answer_type, service.answer_topic,
                                         self._on_answer_for(k, service.name, link.decode_answer),
                                         qos(service.answer_topic))
        for k, node in enumerate(nodes):
            # depth 1: a drone that falls behind acts on the newest state, not on a backlog
            node.create_subscription(Odometry, topics.ODOM, self._on_odom_for(k), qos_latest(topics.ODOM), raw=True)
            node.create_subscription(RadioPackets, topics.RADIO_RX, self._on_rx_for(k), qos(topics.RADIO_RX),
                                     raw=True)

    def _on_rx_for(self, k: int):
        def on_rx(data: bytes) -> None:
            try:
                packets = cdr.decode_radio_packets(data)
            except ValueError as err:
                self.loggers[k].warning(f"dropped malformed radio message: {err}", throttle_duration_sec=5.0)
                return
            for sender, stamp, beacon in packets:
                if sender in self.roster:
                    self.onboard.receive(k, self.roster[sender], stamp, beacon)
        return on_rx

    def _on_answer_for(self, k: int, service: str, decode):
        def on_answer(msg) -> None:
            try:
                data = decode(msg)
            except ValueError as err:
                self.loggers[k].warning(f"dropped a malformed answer of the {service} service: {err}",
                                        throttle_duration_sec=5.0)
                return
            self.onboard.feedback(k, data)
        return on_answer

    def _on_odom_for(self, k: int):
        def on_odom(data: bytes) -> None:
            try:
                stamp, p, v = cdr.decode_odometry(data)
            except ValueError as err:
                self.loggers[k].warning(f"dropped undecodable odometry: {err}", throttle_duration_sec=5.0)
                return
            if stamp == self.answered:
                # The simulator asks again (our answer was lost): repeat it.
                self.cmd_pub[k].publish(cdr.encode_twist_stamped(stamp, topics.WORLD_FRAME, self.last_cmd[k]))
                return
            if stamp < self.stamp:
                return                           # older than the tick being gathered
            if stamp > self.stamp:
                self.stamp = stamp
                self.have[:] = False
            self.position[k], self.velocity[k], self.have[k] = p, v, True
            if self.have.all():
                self._step()
        return on_odom

    def _step(self) -> None:
        stamp = self.stamp
        self.have[:] = False
        tick = int(round(stamp * self.mission.control_rate * 1e-9))
        cmd, beacons = self.onboard.step(tick, self.position.copy(), self.velocity.copy())
        # Beacons first: the simulator steps once all commands are in, and a beacon that
        # arrives after that is sent one tick late.
        if beacons is not None:
            t = stamp * 1e-9
            for k, d in enumerate(self.drones):
                self.tx_pub[k].publish(cdr.encode_beacon(d.name, t, beacons[k]))
        for k, pub in enumerate(self.cmd_pub):
            pub.publish(cdr.encode_twist_stamped(stamp, topics.WORLD_FRAME, cmd[k]))
        for k, data in self.onboard.reports():
            pub, encode = self.report_pub[k]
            pub.publish(encode(data))
        self.answered, self.last_cmd = stamp, cmd


def main(argv=None) -> int:
    with Process(argv) as proc:
        params = proc.parameters({"mission_file": "", "drones": [""]})
        mission = mission_from(params["mission_file"])
        names = [d for d in params["drones"] if d] or mission.fleet.names
        unknown = [d for d in names if d not in mission.fleet.names]
        if unknown:
            print(f"error: drones {unknown} are not in fleet {mission.fleet.name!r} "
                  f"({mission.fleet.file}); allowed: {', '.join(mission.fleet.names)}", file=sys.stderr)
            return 2
        nodes = [proc.node("drone", namespace=f"/{name}", light=len(names) > 1) for name in names]
        DroneGroup(nodes, mission, names)
        if mission.updates is not None:
            from swarm_ros.nodes.update_agent import DroneUpdates
            DroneUpdates(nodes, mission, [mission.fleet.by_name(n) for n in names])
        return proc.spin(nodes)


if __name__ == "__main__":
    raise SystemExit(main())
