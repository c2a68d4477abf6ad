"""The simulator's radio for SwarmSync packets: drones and the update server reach each other
only within radio range, each copy lost with the mission's loss model (sim/radio.py).

A separate Radio instance (own random stream) so update traffic leaves the beacons' loss draws,
and with them the flight, unchanged. Packets are relayed as they arrive, at the senders' and
receivers' current positions; the mission's latency is not applied to them and bandwidth is
not modelled here (the network simulator models both for scale runs).
"""
from __future__ import annotations

import numpy as np
from std_msgs.msg import UInt8MultiArray

from sim.radio import Radio
from swarm_ros import topics
from swarm_ros.nodes.runtime import qos

SEED_OFFSET = 7919      # the update radio's random stream: mission seed + this


class UpdateRelay:
    def __init__(self, node, sim, mission):
        spec = mission.updates
        self.sim = sim
        ranges = [d.vehicle.radio_range for d in mission.fleet.drones] + [spec.server_range]
        self.radio = Radio(ranges, mission.radio, np.random.default_rng(mission.seed + SEED_OFFSET))
        self.server = np.asarray(spec.server_position, float)[None]
        self.rx = [node.create_publisher(UInt8MultiArray, topics.of(d, topics.UPDATE_RX), qos(topics.UPDATE_RX))
                   for d in sim.names]
        self.rx.append(node.create_publisher(UInt8MultiArray, topics.SERVER_RX, qos(topics.SERVER_RX)))
        for k, d in enumerate(sim.names):
            node.create_subscription(UInt8MultiArray, topics.of(d, topics.UPDATE_TX), self._on_tx_for(k),
                                     qos(topics.UPDATE_TX))
        node.create_subscription(UInt8MultiArray, topics.SERVER_TX, self._on_tx_for(len(sim.names)),
                                 qos(topics.SERVER_TX))

    def _on_tx_for(self, k: int):
        def on_tx(msg: UInt8MultiArray) -> None:
            positions = np.vstack([self.sim.position, self.server])
            self.radio.broadcast(self.sim.t, positions, [k], [bytes(msg.data)])
            for dlv in self.radio.due(float("inf")):
                for r, packet in zip(dlv.receiver.tolist(), dlv.packet):
                    self.rx[r].publish(UInt8MultiArray(data=packet))
        return on_tx

    def stats(self) -> dict:
        return self.radio.stats.as_dict()
