"""Vehicle bridge: on hardware it stands where the simulator node stands in simulation.

For each drone it publishes /<drone>/odom from the backend's streamed state estimate at the
mission's control rate (stamp = mission time of the tick, as the simulator does), and passes
each /<drone>/cmd velocity setpoint to the backend. A drone node silent for `cmd_timeout` s
gets a hover setpoint (zero velocity). Beacons on /<drone>/radio/tx are delivered to every
other drone's /<drone>/radio/rx: on hardware the radio is the real network, so there is no
range or loss model. It is a class hosted by `swarm-ros deploy`, not an executable.
"""
from __future__ import annotations

import time

import numpy as np
from geometry_msgs.msg import TwistStamped
from nav_msgs.msg import Odometry
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets

from swarm_ros import topics
from swarm_ros.nodes import cdr
from swarm_ros.nodes.runtime import qos, qos_latest


class VehicleBridge:
    def __init__(self, node, mission, backends: dict, cmd_timeout: float = 1.0):
        self.node, self.mission, self.cmd_timeout = node, mission, cmd_timeout
        self.names = mission.fleet.names
        self.backends = [backends[n] for n in self.names]
        n = len(self.names)
        self.child_frames = [f"{d}/base_link" for d in self.names]
        self.odom_pub = [node.create_publisher(Odometry, topics.of(d, topics.ODOM), qos(topics.ODOM)) for d in self.names]
        self.rx_pub = [node.create_publisher(RadioPackets, topics.of(d, topics.RADIO_RX), qos(topics.RADIO_RX))
                       for d in self.names]
        self.cmd_sub = [node.create_subscription(TwistStamped, topics.of(d, topics.CMD), self._on_cmd_for(k),
                                                 qos_latest(topics.CMD), raw=True) for k, d in enumerate(self.names)]
        self.tx_sub = [node.create_subscription(RadioBeacon, topics.of(d, topics.RADIO_TX), self._on_tx_for(k),
                                                qos(topics.RADIO_TX), raw=True) for k, d in enumerate(self.names)]
        self.cmd = np.zeros((n, 3))
        self.cmd_wall = np.zeros(n)
        self.cmd_stamp = np.full(n, -1, dtype=np.int64)   # the tick (ns) each drone last answered
        self.late = np.zeros(n, dtype=int)                # ticks a drone did not answer in time
        self.t0: float | None = None
        self.tick = -1
        self.forwarding = False
        self._timer = None

    def ready(self) -> bool:
        """Every drone node subscribed to its odometry and publishing commands."""
        return all(p.get_subscription_count() > 0 for p in self.odom_pub) and \
            all(s.get_publisher_count() > 0 for s in self.cmd_sub)

    def start(self) -> None:
        """Mission time 0 is now."""
        self.t0 = time.monotonic()
        self.cmd_wall[:] = self.t0
        self.forwarding = True
        self._timer = self.node.create_timer(self.mission.dt / 2, self._on_timer)

    def stop(self) -> None:
        """Stop passing setpoints on (landing or interrupted); odometry keeps flowing."""
        self.forwarding = False

    def halt(self) -> None:
        """Stop publishing altogether (the flight is over)."""
        self.forwarding = False
        if self._timer is not None:
            self._timer.cancel()

    @property
    def t(self) -> float:
        return 0.0 if self.t0 is None else time.monotonic() - self.t0

    def _stamp(self) -> int:
        return int(round(self.tick * 1e9 / self.mission.control_rate))

    def _on_timer(self, *_ignored) -> None:
        tick = int(self.t * self.mission.control_rate)
        if tick <= self.tick:
            return
        if self.tick >= 0 and self.forwarding:
            self.late += self.cmd_stamp != self._stamp()
        self.tick = tick
        stamp, now = self._stamp(), time.monotonic()
        silent = now - self.cmd_wall > self.cmd_timeout
        for k, backend in enumerate(self.backends):
            s = backend.state()
            self.odom_pub[k].publish(cdr.encode_odometry(stamp, topics.WORLD_FRAME, self.child_frames[k],
                                                         s.position, s.velocity))
            if self.forwarding and silent[k]:
                backend.velocity(np.zeros(3))           # the drone node went quiet: hold still

    def _on_cmd_for(self, k: int):
        def on_cmd(data: bytes) -> None:
            command = cdr.command_or_none(data, self.node.get_logger())
            if command is None:
                return
            stamp, v = command
            if not self.forwarding or stamp > self._stamp():
                return
            if stamp < self.cmd_stamp[k]:
                return                                   # older than one already flown
            self.cmd_stamp[k] = stamp
            self.cmd[k], self.cmd_wall[k] = v, time.monotonic()
            self.backends[k].velocity(v)
        return on_cmd

    def _on_tx_for(self, k: int):
        def on_tx(data: bytes) -> None:
            try:
                sender, stamp, beacon = cdr.decode_beacon(data)
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed beacon from {self.names[k]}: {err}",
                                               throttle_duration_sec=5.0)
                return
            packets = cdr.encode_radio_packets([sender], [stamp], [beacon])
            for j, pub in enumerate(self.rx_pub):
                if j != k:
                    pub.publish(packets)
        return on_tx
