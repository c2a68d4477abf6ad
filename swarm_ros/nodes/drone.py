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

In lockstep (`lockstep`, a simulator at speed 0) a group computes tick k only once it has
every radio message the simulator sent for tick k (the odometry says how many) and the
mission service's answer to every request it made at tick k-1, as the headless runner
delivers them: DDS orders messages within a topic, not across topics. A drone goes on without
them, and says so, after ANSWER_WAIT wall seconds once a service it waits for has no
publisher left (a dead service must not stop the swarm), else after ANSWER_PATIENCE (a service
stalled by a loaded machine must not change the flight).
"""
from __future__ import annotations

import sys
import time

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets

from swarm_ros import topics
from swarm_ros.control.onboard import Onboard, warm_up
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import ANSWER_PATIENCE, Process, alive, mission_from, qos, qos_latest
from swarm_ros.nodes.service_link import link_of

ANSWER_WAIT = 0.8   # s (wall) a lockstep drone waits for answers of a service with no publisher left:
                    # under the simulator's default 1 s command timeout, so that a dead service costs
                    # the drone no hover ticks and no loss


class DroneGroup:
    """The drone nodes of one process; node k flies drone `drones[k]`."""

    def __init__(self, nodes, mission, names: list[str], lockstep: bool = False):
        self.mission, self.lockstep = mission, lockstep
        self.drones = [mission.fleet.by_name(n) for n in names]
        self.roster = {d.name: d.index for d in mission.fleet.drones}
        warm_up(mission, self.drones)               # first-call costs now, not in the mission's first ticks
        self.onboard = Onboard(mission, self.drones)
        n = len(self.drones)
        self.stamp = -1                          # the tick being gathered (ns)
        self.position, self.velocity = np.zeros((n, 3)), np.zeros((n, 3))
        self.have = np.zeros(n, dtype=bool)
        self.radio_due = np.zeros(n, dtype=int)   # lockstep: radio messages still to come for the tick
        self.awaiting = np.zeros(n, dtype=bool)   # lockstep: a service answer still to come
        self.ready_since = None                   # wall time every odometry of the tick was in
        self.answered, self.last_cmd = -1, np.zeros((n, 3))   # the last tick answered, and how
        # beacons heard since the last step, in arrival order: handed to the neighbour memory in
        # one batch per tick, as the headless runner does (one merge instead of one per beacon)
        self.heard: list[tuple[int, int, float, np.ndarray]] = []
        self.loggers = [node.get_logger() for node in nodes]
        self.cmd_pub = [node.create_publisher(TwistStamped, topics.CMD, qos(topics.CMD)) for node in nodes]
        self.tx_pub = [node.create_publisher(RadioBeacon, topics.RADIO_TX, qos(topics.RADIO_TX))
                       for node in nodes]
        # drones whose controller needs a mission service send it requests and take its answers
        self.report_pub = {}
        self.answers = np.zeros(n, dtype=bool)   # whose service answers every request
        self.answer_sub = {}                     # drone -> its subscription to its service's answers
        for k, node in enumerate(nodes):
            use = mission.service_of(self.drones[k].index)
            if use is None or use.kind.request_topic is None:
                continue
            service, link = use.kind, link_of(use.kind)
            pub = node.create_publisher(link.request_type, service.request_topic, qos(service.request_topic))
            self.report_pub[k] = (pub, link.encode_request)
            if service.answer_topic is not None:
                self.answers[k] = True
                self.answer_sub[k] = node.create_subscription(
                    link.answer_type, service.answer_topic, self._on_answer_for(k, service.name, link.decode_answer),
                    qos(service.answer_topic))
        if lockstep:
            nodes[0].create_timer(0.1, self._check_wait)
        for k, node in enumerate(nodes):
            # depth 1: a drone that falls behind acts on the newest state, not on a backlog
            node.create_subscription(Odometry, topics.ODOM, self._on_odom_for(k), qos_latest(topics.ODOM), raw=True)
            node.create_subscription(RadioPackets, topics.RADIO_RX, self._on_rx_for(k), qos(topics.RADIO_RX),
                                     raw=True)

    def _on_rx_for(self, k: int):
        def on_rx(data: bytes) -> None:
            try:
                packets = cdr.decode_radio_numbers(data)
            except ValueError as err:
                self.loggers[k].warning(f"dropped malformed radio message: {err}", throttle_duration_sec=5.0)
                return
            for sender, stamp, beacon in packets:
                if sender in self.roster:
                    self.heard.append((k, self.roster[sender], stamp, beacon))
            self.radio_due[k] -= 1
            self._step_if_ready()
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
            self.awaiting[k] = False
            self._step_if_ready()
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
            if self.lockstep and not self.have[k]:
                self.radio_due[k] += cdr.odometry_radio(data)
            self.position[k], self.velocity[k], self.have[k] = p, v, True
            self._step_if_ready()
        return on_odom

    def _step_if_ready(self) -> None:
        if not self.have.all():
            return
        if self.lockstep and ((self.radio_due > 0).any() or self.awaiting.any()):
            now = time.monotonic()
            self.ready_since = self.ready_since or now
            waited = now - self.ready_since
            if waited < ANSWER_WAIT or (waited < ANSWER_PATIENCE and self._answerers_alive()):
                return                           # _check_wait looks again
            self.loggers[0].warning(f"tick {self.stamp * 1e-9:.2f} s: went on without "
                                    f"{int(np.maximum(self.radio_due, 0).sum())} radio messages and "
                                    f"{int(self.awaiting.sum())} service answers after {waited:.1f} s")
        self._step()

    def _answerers_alive(self) -> bool:
        """Whether every service this group awaits an answer from still publishes (the radio
        comes from the simulator, which lives as long as the run)."""
        return alive(self.answer_sub[k] for k in np.nonzero(self.awaiting)[0])

    def _hand_over_beacons(self) -> None:
        k, sender, stamp, beacons = zip(*self.heard)
        self.heard = []
        widths = [len(b) for b in beacons]
        width = max(widths)
        if min(widths) == width:
            rows = np.array(beacons, float)
        else:
            rows = np.full((len(beacons), width), np.nan)
            for i, b in enumerate(beacons):
                rows[i, :len(b)] = b
        self.onboard.receive_many(np.array(k), np.array(sender), np.array(stamp, float), rows,
                                  np.array(widths, np.intp))

    def _check_wait(self) -> None:
        if self.ready_since is not None:
            self._step_if_ready()

    def _step(self) -> None:
        stamp = self.stamp
        self.have[:] = False
        self.ready_since = None
        self.radio_due[:] = 0
        self.awaiting[:] = False
        tick = int(round(stamp * self.mission.control_rate * 1e-9))
        if self.heard:
            self._hand_over_beacons()
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
            self.awaiting[k] = self.lockstep and self.answers[k]
            pub.publish(encode(data))
        self.answered, self.last_cmd = stamp, cmd


def main(argv=None) -> int:
    with Process(argv) as proc:
        params = proc.parameters({"mission_file": "", "drones": [""], "lockstep": False})
        mission = mission_from(params["mission_file"])
        names = [d for d in params["drones"] if d] or mission.fleet.names
        unknown = [d for d in names if d not in mission.fleet.names]
        if unknown:
            print(f"error: drones {unknown} are not in fleet {mission.fleet.name!r} "
                  f"({mission.fleet.file}); allowed: {', '.join(mission.fleet.names)}", file=sys.stderr)
            return 2
        nodes = [proc.node("drone", namespace=f"/{name}", light=len(names) > 1) for name in names]
        DroneGroup(nodes, mission, names, params["lockstep"])
        if mission.updates is not None:
            from swarm_ros.nodes.update_agent import DroneUpdates
            DroneUpdates(nodes, mission, [mission.fleet.by_name(n) for n in names])
        return proc.spin(nodes)


if __name__ == "__main__":
    raise SystemExit(main())
