"""Update server node: takes a signed patch from `swarm-ros patch push` and serves it as the
SwarmSync updater through the simulator's radio (or the real network on hardware).

It checks the signature against the mission's trusted keys before serving (a drone would refuse
it anyway; this saves the airtime) and answers each push on /swarm/update/server (latched swarm_ros_interfaces/UpdateOffer,
with `push`: the first 16 hex of the pushed bytes' SHA-256, so a client knows its own answer).

One patch is in flight at a time: drones order offers by one version number, so a push replaces
the patch being served only when its version is higher; a push with the same or a lower version
(e.g. a second version-2 patch for another drone type) is refused instead of being silently
ignored by the drones that heard the first.
"""
from __future__ import annotations

import hashlib
import time

from std_msgs.msg import UInt8MultiArray
from swarm_ros_interfaces.msg import UpdateOffer

from firmware_update.participant import SyncConfig
from firmware_update.patch import Patch, PatchRefused, load_public_key, verify, wire_version
from firmware_update.protocol import UpdaterAgent
from swarm_ros import topics
from swarm_ros.nodes.reports import update_offer_message
from swarm_ros.nodes.runtime import qos, run_service

NAME = "updater"


class UpdateServer:
    def __init__(self, node, mission):
        self.node, self.seed = node, mission.seed
        self.keys = [load_public_key(k) for k in mission.updates.keys]
        self.config = SyncConfig.timer_polled(chunk_size=mission.updates.chunk_size)
        self.agent, self.serving = None, None
        self.t0 = time.monotonic()
        self.tx = node.create_publisher(UInt8MultiArray, topics.SERVER_TX, qos(topics.SERVER_TX))
        self.state = node.create_publisher(UpdateOffer, topics.SERVER_STATE, qos(topics.SERVER_STATE))
        node.create_subscription(UInt8MultiArray, topics.SERVER_RX, self._on_rx, qos(topics.SERVER_RX))
        node.create_subscription(UInt8MultiArray, topics.PATCH_PUSH, self._on_push, qos(topics.PATCH_PUSH))
        node.create_timer(self.config.poll_period, self._poll)
        self.state.publish(update_offer_message({"state": "idle"}))

    def _now(self) -> float:
        return time.monotonic() - self.t0

    def _on_push(self, msg: UInt8MultiArray) -> None:
        data = bytes(msg.data)
        push = hashlib.sha256(data).hexdigest()[:16]
        try:
            patch = Patch.from_bytes(data, "pushed patch")
            verify(patch, self.keys)
            m = patch.manifest
            version = wire_version(m["version"])
            if self.agent is not None and version <= self.agent.offer.version:
                raise PatchRefused(f"version {m['version']} is not newer than the patch being served "
                                   f"(version {self.serving}, target {self.agent.offer.selector!r}); one patch is "
                                   f"in flight at a time: build the next with a higher version (e.g. "
                                   f"{self.serving}.1)")
            self.agent = UpdaterAgent(NAME, data, m["result_hash"][:16], version, m["target"],
                                      self.config, seed=self.seed)
            self.serving = m["version"]
        except PatchRefused as err:
            self.state.publish(update_offer_message({"state": "refused", "reason": str(err), "push": push}))
            return
        self.node.get_logger().info(f"serving patch {m['result_hash'][:16]} version {m['version']} "
                                    f"({len(data)} bytes) to {m['target']!r}")
        self.state.publish(update_offer_message({"state": "serving", "patch": m["result_hash"][:16], "version": m["version"],
                                         "target": m["target"], "bytes": len(data), "push": push}))

    def _send(self, out) -> None:
        for _dest, msg in out:
            self.tx.publish(UInt8MultiArray(data=msg.encode()))

    def _on_rx(self, msg: UInt8MultiArray) -> None:
        if self.agent is not None:
            try:
                self._send(self.agent.handle(bytes(msg.data), self._now()))
            except ValueError:
                pass

    def _poll(self, *_ignored) -> None:
        if self.agent is not None:
            self._send(self.agent.poll(self._now()))


def main(argv=None) -> int:
    return run_service(argv, "update_server", UpdateServer,
                       lambda m: None if m.updates else "has no `updates` section (see swarm_ros/updates_config.py)")


if __name__ == "__main__":
    raise SystemExit(main())
