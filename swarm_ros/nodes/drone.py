"""Drone node: one per drone, the same whether the vehicle is simulated or real.

On each /<drone>/odom it builds the drone's observations (own state, beacons its radio
received, obstacles its own sensor sees of the map) and answers with a velocity setpoint on
/<drone>/cmd; on its beacon ticks it broadcasts on /<drone>/radio/tx. Several drone nodes can
share one process (`drones` lists them); each keeps its own controller and neighbour memory.
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from std_msgs.msg import Float64MultiArray

from swarm_ros import topics
from swarm_ros.control.beacons import NEIGHBOUR_TIMEOUT, BeaconTable, beacon_due, beacon_interval
from swarm_ros.control.contract import Observations, make_beacon
from swarm_ros.control.mission_controller import MissionController
from swarm_ros.nodes import cdr, messages as msgs
from swarm_ros.nodes.runtime import Process, mission_from, qos


class DroneNode:
    def __init__(self, node, mission, name: str):
        self.node, self.mission = node, mission
        self.spec = mission.fleet.by_name(name)
        self.roster = {d.name: d.index for d in mission.fleet.drones}
        self.controller = MissionController(mission, [self.spec])
        self.group = int(self.controller.groups[0])
        self.table = BeaconTable(1, NEIGHBOUR_TIMEOUT)
        self.interval = beacon_interval(mission.control_rate, mission.radio.beacon_rate)
        self.sensing_range = np.array([self.spec.vehicle.sensing_range])
        self.cmd_pub = node.create_publisher(TwistStamped, topics.CMD, qos(topics.CMD))
        self.tx_pub = node.create_publisher(Float64MultiArray, topics.RADIO_TX, qos(topics.RADIO_TX))
        node.create_subscription(Odometry, topics.ODOM, self.on_odom, qos(topics.ODOM), raw=True)
        node.create_subscription(Float64MultiArray, topics.RADIO_RX, self.on_rx, qos(topics.RADIO_RX))

    def on_rx(self, msg: Float64MultiArray) -> None:
        try:
            packets = msgs.radio_unpack(msg)
        except ValueError as err:
            self.node.get_logger().warning(f"dropped malformed radio message: {err}")
            return
        for sender, stamp, beacon in packets:
            if sender in self.roster:
                self.table.add(0, self.roster[sender], stamp, beacon)

    def on_odom(self, data: bytes) -> None:
        stamp, p, v = cdr.decode_odometry(data)
        t = stamp * 1e-9
        obs = Observations(t, p[None], v[None], self.table.neighbours(t),
                           self.mission.world.sense(p[None], self.sensing_range))
        self.cmd_pub.publish(cdr.encode_twist_stamped(stamp, topics.WORLD_FRAME, self.controller.step(obs)))
        tick = int(round(t * self.mission.control_rate))
        if beacon_due(tick, self.interval):
            beacon = make_beacon(p, v, self.spec.vehicle.body_radius, self.group)
            self.tx_pub.publish(msgs.radio_packets([self.spec.name], [t], [beacon]))


def main(argv=None) -> int:
    with Process(argv) as proc:
        params = proc.parameters({"mission_file": "", "drones": [""]})
        mission = mission_from(params["mission_file"])
        names = [d for d in params["drones"] if d] or mission.fleet.names
        unknown = [d for d in names if d not in mission.fleet.names]
        if unknown:
            print(f"error: drones {unknown} are not in fleet {mission.fleet.name!r} "
                  f"({mission.fleet.file}); allowed: {', '.join(mission.fleet.names)}")
            return 2
        nodes = []
        for name in names:
            node = proc.node("drone", namespace=f"/{name}", light=len(names) > 1)
            DroneNode(node, mission, name)
            nodes.append(node)
        return proc.spin(nodes)


if __name__ == "__main__":
    raise SystemExit(main())
