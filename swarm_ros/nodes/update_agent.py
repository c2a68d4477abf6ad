"""The update agent inside each drone node: SwarmSync messages in and out, installs on completion.

Thin: firmware_update.protocol (SwarmSync) decides what to send and when a patch is complete;
firmware_update.agent verifies, installs (A/B, rollback) and swaps the running model. This class
only moves bytes between /<drone>/update/rx|tx and those two, and publishes /<drone>/update/status
(latched, swarm_ros_interfaces/UpdateStatus) whenever the agent reports, plus transfer progress in steps of 10 %.
A drone whose agent cannot start (no A/B slot verifies, an unusable state folder, any other error)
publishes state `failed` with the reason once and flies on without updates; the node does not stop.

To show the swap happens in the running process, each drone classifies a seeded stand-in camera
frame (firmware_update.shapes.camera_frame, of a class only the patched model knows) with the
model it runs now, every INFER_PERIOD s and with every report: the status carries the predicted
`label`, the hash of the model that made it (`label_model`) and the node's `pid`.
"""
from __future__ import annotations

import os
import time

from std_msgs.msg import UInt8MultiArray
from swarm_ros_interfaces.msg import UpdateStatus

from firmware_update.agent import UpdateAgent
from firmware_update.model import Model
from firmware_update.participant import SyncConfig
from firmware_update.patch import load_public_key
from firmware_update.protocol import DroneAgent
from firmware_update.selector import DroneIdentity
from firmware_update.shapes import camera_frame
from swarm_ros import topics
from swarm_ros.nodes.reports import update_status_message
from swarm_ros.nodes.runtime import qos

INFER_PERIOD = 1.0      # s between inferences on the stand-in camera frame


class DroneUpdates:
    def __init__(self, nodes, mission, drones):
        spec = mission.updates
        keys = [load_public_key(k) for k in spec.keys]
        base = Model.load(spec.model)
        self.config = SyncConfig.timer_polled(chunk_size=spec.chunk_size)
        self.t0 = time.monotonic()
        self.log = nodes[0].get_logger()
        self.frame, self.pid = camera_frame(), os.getpid()
        self.agents, self.sync, self.tx, self.shown, self.status = [], [], [], [], []
        self.disabled = []                      # status publishers of drones whose agent could not start
        for node, d in zip(nodes, drones):
            k = len(self.agents)
            self.status.append(node.create_publisher(UpdateStatus, topics.UPDATE_STATUS, qos(topics.UPDATE_STATUS)))
            folder = spec.state / d.name
            try:
                agent = UpdateAgent(folder, DroneIdentity.of(d), keys, base,
                                    on_status=lambda s, k=k: self._publish(k, s))
            except Exception as err:               # noqa: BLE001 -- any agent error: fly on without updates
                self.log.error(f"{d.name}: update agent disabled: {err}")
                self.disabled.append(self.status.pop())
                self.disabled[-1].publish(update_status_message({"drone": d.name, "state": "failed", "reason": str(err)}))
                continue
            self.agents.append(agent)
            self.sync.append(DroneAgent(DroneIdentity.of(d), self.config, seed=mission.seed,
                                        store_dir=folder / "sync", on_complete=self._installer(k)))
            self.tx.append(node.create_publisher(UInt8MultiArray, topics.UPDATE_TX, qos(topics.UPDATE_TX)))
            node.create_subscription(UInt8MultiArray, topics.UPDATE_RX, self._on_rx_for(k), qos(topics.UPDATE_RX))
            self.shown.append((None, -1.0))
        nodes[0].create_timer(self.config.poll_period, self._poll)
        nodes[0].create_timer(INFER_PERIOD, self._infer)

    def _publish(self, k: int, status: dict) -> None:
        """The agent's status plus what the running model sees in the camera frame now."""
        out = dict(status)
        if k < len(self.agents):                # not while the agent itself is starting up
            model = self.agents[k].model        # one read: the swap is a reference assignment
            out.update(label=model.classes[int(model.predict(self.frame)[0])], label_model=model.hash()[:16],
                       pid=self.pid, inferred_at=time.time())
        self.status[k].publish(update_status_message(out))

    def _infer(self, *_ignored) -> None:
        for k, agent in enumerate(self.agents):
            self._publish(k, agent.status)

    def _installer(self, k: int):
        def install(_offer, blob: bytes) -> None:
            try:
                self.agents[k].offer(blob)      # verify, A/B install, hot swap; reports status
            except Exception as err:            # noqa: BLE001 -- radio bytes must never kill the node
                self.log.error(f"{self.agents[k].identity.name}: install failed: {err!r}")
                self.agents[k].report("refused", reason=f"install failed: {' '.join(str(err).split())}")
        return install

    def _now(self) -> float:
        return time.monotonic() - self.t0

    def _send(self, k: int, out) -> None:
        for _dest, msg in out:
            self.tx[k].publish(UInt8MultiArray(data=msg.encode()))

    def _on_rx_for(self, k: int):
        def on_rx(msg: UInt8MultiArray) -> None:
            try:
                self._send(k, self.sync[k].handle(bytes(msg.data), self._now()))
            except ValueError:
                pass                            # not a SwarmSync message: the radio carries anything
        return on_rx

    def _poll(self, *_ignored) -> None:
        now = self._now()
        for k, part in enumerate(self.sync):
            self._send(k, part.poll(now))
            self._show_progress(k, part)

    def _show_progress(self, k: int, part) -> None:
        if part.offer is None:
            return
        patch, shown = self.shown[k]
        if not part.targeted:
            if patch != part.offer.patch:
                self.agents[k].report("not_targeted", patch=part.offer.patch)
                self.shown[k] = (part.offer.patch, 1.0)
            return
        if part.blob is None and (patch != part.offer.patch or part.progress >= shown + 0.1):
            self.agents[k].report("receiving", patch=part.offer.patch, progress=round(part.progress, 2))
            self.shown[k] = (part.offer.patch, part.progress)
