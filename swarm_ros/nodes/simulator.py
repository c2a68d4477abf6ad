"""Simulator node: steps the ROS-free SwarmSim and talks to the drone nodes over DDS.

Each tick it publishes /<drone>/odom (and the radio deliveries due); drones answer with a
/<drone>/cmd stamped like the odometry it answers; physics then advances one control period
with each drone's latest command. Two ways to pace it:

- lockstep (`speed` 0): a tick advances as soon as every drone has answered it and, on a beacon
  tick, its beacon is in, so runs are as fast as the nodes allow and fly as the headless runner
  does: beacons are relayed in sender order whatever order DDS brought them in, and each
  odometry says how many radio messages the drone gets for that tick (cdr.encode_odometry), so
  the drone waits for them before it computes. When
  the recorder reports its progress, the simulator stays at most RECORDER_LAG ticks ahead of
  the odometry it has written, so a run never outpaces the bag: it waits for a stalled
  recorder as long as the recorder lives, saying so on /swarm/events.
- real time (`speed` > 0, 1 = wall clock): ticks advance on the wall clock as vehicles would;
  an answer that misses its tick still becomes the drone's setpoint, and is counted late.

A drone silent for `cmd_timeout` wall seconds is commanded to hover (zero velocity); in lockstep
one whose command publisher lives is waited for up to COMMAND_PATIENCE (a drone process stalled
by a loaded machine must not change the flight). One silent for `lost_after` such waits, or whose
process ended, is lost (nodes/lost_drones.py): the barrier
stops waiting for it and its failsafe lands it; it rejoins when it answers again. Losses, and
the simulator waiting for a stalled recorder, are announced on /swarm/events. Beacons
on /<drone>/radio/tx are relayed only to drones in radio range, with the mission's loss and
latency.
"""
from __future__ import annotations

import json
import time

import numpy as np
from geometry_msgs.msg import Pose, PoseArray, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.duration import Duration
from std_msgs.msg import Int64, String
from swarm_ros_interfaces.msg import RadioBeacon, RadioPackets, SwarmStatus, SwarmSummary

from sim.engine import SwarmSim
from swarm_ros import topics
from swarm_ros.control.beacons import beacon_due, beacon_interval
from swarm_ros.nodes import cdr, messages as msgs, reports
from swarm_ros.nodes.lost_drones import LOST_AFTER, LostDrones
from swarm_ros.nodes.runtime import COMMAND_PATIENCE, EXIT_FAILED, Process, alive, mission_from, qos, qos_latest
from swarm_ros.nodes.service_link import link_of
from swarm_ros.nodes.update_relay import UpdateRelay
from swarm_ros.report import exit_code, judge

STATUS_PERIOD = 0.2   # s wall time between status messages
SETTLE = 0.5          # s after every peer is matched before the first tick: lets discovery finish
                      # on both sides (a reader that is not yet matched drops what it is sent)
RESEND = 0.25         # s without an answer (lockstep) before a tick's odometry is sent again
LINGER = 1.0          # s the node stays up after the summary so every subscriber gets it
ACK_LIMIT = 5.0       # s more it waits, after LINGER, for its summary readers to acknowledge it
RECORDER_LAG = 50     # ticks (lockstep) the simulator may run ahead of the odometry in the bag;
                      # well inside the reliable history (topics.DEPTH), so nothing is dropped
RECORDER_SILENT = 2.0  # s held back without recorder progress before the wait is announced
STARTUP_REPORT = 10.0  # s between "waiting for peers" lines while the graph connects


class SimulatorNode:
    def __init__(self, node, mission, proc: Process, speed: float, wait_recorder: bool, cmd_timeout: float,
                 startup_timeout: float, odom_readers: int = 1, judge: bool = False, strict: bool = False,
                 lost_after: int = LOST_AFTER, summary_readers: int = 0):
        self.node, self.mission, self.proc = node, mission, proc
        self.judge, self.strict = judge, strict
        self.speed, self.cmd_timeout, self.startup_timeout = speed, cmd_timeout, startup_timeout
        self.lockstep = speed <= 0
        self.odom_readers, self.summary_readers = odom_readers, summary_readers
        self.sim = SwarmSim(mission)
        names = self.sim.names
        self.child_frames = [f"{d}/base_link" for d in names]
        self.odom_pub = [node.create_publisher(Odometry, topics.of(d, topics.ODOM), qos(topics.ODOM)) for d in names]
        self.rx_pub = [node.create_publisher(RadioPackets, topics.of(d, topics.RADIO_RX), qos(topics.RADIO_RX))
                       for d in names]
        self.cmd_sub = [node.create_subscription(TwistStamped, topics.of(d, topics.CMD), self._on_cmd_for(k),
                                                 qos_latest(topics.CMD), raw=True) for k, d in enumerate(names)]
        self.tx_sub = [node.create_subscription(RadioBeacon, topics.of(d, topics.RADIO_TX),
                                                self._on_tx_for(k), qos(topics.RADIO_TX), raw=True)
                       for k, d in enumerate(names)]
        self.status_pub = node.create_publisher(SwarmStatus, topics.STATUS, qos(topics.STATUS))
        self.poses_pub = node.create_publisher(PoseArray, topics.POSES, qos(topics.POSES))
        self.poses_every = max(1, round(mission.control_rate / mission.view_rate)) if mission.view_rate > 0 else 0
        self.summary_pub = node.create_publisher(SwarmSummary, topics.SUMMARY, qos(topics.SUMMARY))
        self.events_pub = node.create_publisher(String, topics.EVENTS, qos(topics.EVENTS))
        # lost after `lost_after` command timeouts of silence: in lockstep each is one tick
        # stepped without the drone, in real time the ticks the wall clock runs meanwhile
        silent_ticks = lost_after if self.lockstep else \
            max(1, round((lost_after - 1) * cmd_timeout * mission.control_rate * speed))
        self.lost = LostDrones(names, silent_ticks)
        self.recorder_wait_said = False
        self.updates = UpdateRelay(node, self.sim, mission) if mission.updates else None
        # A mission starts once its services are up (their drones' first requests must not be lost).
        monitors = [(use.kind.monitor, link_of(use.kind).monitor_type) for use in mission.services.values()
                    if use.kind.monitor]
        self._service_subs = [node.create_subscription(kind, t, lambda _m: None, qos(t)) for t, kind in monitors]
        self.recorder_ready = not wait_recorder
        if wait_recorder:
            self._ready_sub = node.create_subscription(String, topics.RECORDER_READY, self._on_recorder_ready,
                                                       qos(topics.RECORDER_READY))
        self.recorded = None        # mission ns up to which the bag holds every odometry (None: no reports)
        self.held_since = None      # wall time since when a lockstep tick waits for the recorder
        self.lag_ns = int(RECORDER_LAG * 1e9 / mission.control_rate)
        if wait_recorder and self.lockstep:
            self._progress_sub = node.create_subscription(Int64, topics.RECORDER_PROGRESS, self._on_recorder_progress,
                                                          qos(topics.RECORDER_PROGRESS))
        n = self.sim.n
        self.cmd = np.zeros((n, 3))                       # latest command of each drone
        self.cmd_stamp = np.full(n, -1, dtype=np.int64)   # the tick (ns) it answered
        self.cmd_wall = np.zeros(n)                       # when it arrived
        self.late = np.zeros(n, dtype=int)                # ticks stepped without a fresh answer
        self.beacon_tick = np.full(n, -1, dtype=np.int64)  # the tick of each drone's latest beacon
        self.interval = beacon_interval(mission.control_rate, mission.radio.beacon_rate)
        self.radio_sent = np.zeros(n, dtype=int)          # radio messages sent to each drone this tick
        self.outbox: list[tuple[int, np.ndarray]] = []
        self.state = "waiting"
        self.t_created = self.progress_at = self.reported_at = time.monotonic()
        self.connected = -1          # peers matched so far (start-up waits while this grows)
        self.wall0 = self.tick_sent_at = 0.0
        self.resent = 0
        self.watchdog = node.create_timer(STATUS_PERIOD, self._watchdog)
        self._timers = []

    # --- start-up -----------------------------------------------------------------------------
    def _on_recorder_ready(self, _msg) -> None:
        self.recorder_ready = True

    def _missing_peers(self) -> list[str]:
        """What has not connected yet: drones (and the recorder) subscribed to odometry, drones
        publishing commands, the mission services that publish a monitor topic, and the summary's
        readers (a 1 s mission would otherwise end before a slow reader has matched it)."""
        missing = [] if self.recorder_ready else ["the recorder"]
        if self.summary_pub.get_subscription_count() < self.summary_readers:
            missing.append(topics.SUMMARY + " subscribers")
        missing += [s.topic_name + " publisher" for s in self._service_subs + self.cmd_sub
                    if s.get_publisher_count() == 0]
        missing += [p.topic_name + " subscribers" for p in self.odom_pub
                    if p.get_subscription_count() < self.odom_readers]
        return missing

    def _startup(self, now: float) -> None:
        """Start once every peer is there. Under load processes connect slowly: give up only
        after `startup_timeout` s in which no new peer connected."""
        missing = self._missing_peers()
        if not missing:
            self.state = "settling"
            self._timers = [self.node.create_timer(SETTLE, self._start)]
            return
        total = 1 + len(self._service_subs) + 2 * self.sim.n + int(self.summary_readers > 0)
        connected = total - len(missing)
        if connected > self.connected:
            self.connected, self.progress_at = connected, now
        if now - self.progress_at > self.startup_timeout:
            self.node.get_logger().error(f"peers did not connect: none new for {self.startup_timeout:g} s; "
                                         f"missing {', '.join(missing[:6])}")
            self.proc.finish(3)
        elif now - self.reported_at > STARTUP_REPORT:
            self.reported_at = now
            self.node.get_logger().info(f"waiting for peers: {connected} of {total} connected; "
                                        f"missing {', '.join(missing[:6])}")

    def _start(self, *_ignored) -> None:
        for timer in self._timers:
            timer.cancel()
        self.state = "running"
        self.wall0 = time.monotonic()
        self.cmd_wall[:] = self.wall0
        self.node.get_logger().info(f"all {self.sim.n} drones connected; mission {self.mission.name!r} starts "
                                    + ("in lockstep" if self.lockstep else f"at x{self.speed:g} real time"))
        if not self.lockstep:
            self._timers = [self.node.create_timer(self.mission.dt / self.speed, self._on_clock)]
        self._publish_tick()

    # --- ticks --------------------------------------------------------------------------------
    def _tick_ns(self) -> int:
        return int(round(self.sim.tick * 1e9 / self.mission.control_rate))

    def _on_cmd_for(self, k: int):
        def on_cmd(data: bytes) -> None:
            command = cdr.command_or_none(data, self.node.get_logger())
            if command is None:
                return
            stamp, v = command
            # only answers to the current tick or newer than the last one; never from the future
            if self.state != "running" or not self.cmd_stamp[k] <= stamp <= self._tick_ns():
                return
            self.cmd[k], self.cmd_stamp[k], self.cmd_wall[k] = v, stamp, time.monotonic()
            # a lost drone answering a recent tick (a restarted process) is waited for again
            recent = self._tick_ns() - stamp <= LOST_AFTER * 1e9 / self.mission.control_rate
            if self.lost.lost[k] and (recent or not self.lockstep):
                self._event("back", self.lost.rejoin(k, self.sim.t))
            if self.lockstep and self.held_since is None and not self._waiting().any():
                self._advance_unless_recorder_behind()
        return on_cmd

    def _waiting(self) -> np.ndarray:
        """The drones the lockstep barrier still waits for this tick, for their command or, on a
        beacon tick, their beacon (lost ones are not waited for)."""
        missing = self.cmd_stamp != self._tick_ns()
        if beacon_due(self.sim.tick, self.interval):
            missing |= self.beacon_tick != self.sim.tick
        return missing & ~self.lost.lost

    def _event(self, kind: str, details: dict) -> None:
        """Announce a fault (or its end) on the log and on /swarm/events, where the runner and the bag get it."""
        event = {"event": kind, **details}
        text = {"lost": "drone {name} lost at t={t:.1f} s ({reason}); its failsafe hovers, then lands it",
                "back": "drone {name} is back at t={rejoined:.1f} s; it rejoins the swarm",
                "waiting": "waiting for the recorder: it wrote nothing for {silent:g} s (at t={t:.1f} s)",
                "resumed": "the recorder caught up; running on at t={t:.1f} s"}[kind].format(**event)
        event["text"] = text
        if kind in ("lost", "waiting"):
            self.node.get_logger().warning(text)
        else:
            self.node.get_logger().info(text)
        self.events_pub.publish(String(data=json.dumps(event)))

    def _recorder_behind(self) -> bool:
        return self.recorded is not None and self._tick_ns() - self.recorded > self.lag_ns

    def _advance_unless_recorder_behind(self) -> None:
        if self._recorder_behind():
            self.held_since = self.held_since or time.monotonic()
            return
        self._advance()

    def _on_recorder_progress(self, msg: Int64) -> None:
        self.recorded = msg.data
        if self.held_since is None or self.state != "running":
            return
        if self._recorder_behind():
            self.held_since = time.monotonic()      # progress, not yet enough: the silence clock restarts
        else:
            self._release()

    def _release(self) -> None:
        """Advance a tick held for the recorder: every drone had answered it, none is silent."""
        self.held_since = None
        self.cmd_wall[:] = time.monotonic()
        if self.recorder_wait_said:
            self.recorder_wait_said = False
            self._event("resumed", {"t": self.sim.t})
        self._advance()

    def _on_tx_for(self, k: int):
        def on_tx(data: bytes) -> None:
            if self.state != "running":
                return
            try:
                _sender, stamp, beacon = cdr.decode_beacon(data)
            except ValueError as err:
                self.node.get_logger().warning(f"dropped a malformed beacon from {self.sim.names[k]}: {err}")
                return
            # The radio knows the sender from the topic; it sends at its own clock, at the next step.
            self.outbox.append((k, beacon))
            self.beacon_tick[k] = round(stamp * self.mission.control_rate)
            if self.lockstep and self.held_since is None and not self._waiting().any():
                self._advance_unless_recorder_behind()
        return on_tx

    def _on_clock(self, *_ignored) -> None:
        """Real-time pacing: advance every tick whose wall-clock time has come."""
        target = (time.monotonic() - self.wall0) * self.speed
        while self.state == "running" and self.sim.t + self.mission.dt <= target + 1e-6:
            self._advance()

    def _advance(self) -> None:
        lost = self.lost.lost
        unanswered = self.cmd_stamp != self._tick_ns()
        self.late += unanswered & ~lost
        # lockstep steps without a drone only after the watchdog's wait for it; real time by the wall clock
        silent = (unanswered if self.lockstep else time.monotonic() - self.cmd_wall > self.cmd_timeout) & ~lost
        if silent.any():
            waited = time.monotonic() - self.tick_sent_at if self.lockstep else self.cmd_timeout
            self.node.get_logger().warning(
                "no command for %.1f s from %s; hovering" % (waited, ", ".join(np.array(self.sim.names)[silent])),
                throttle_duration_sec=2.0)
        for entry in self.lost.stepped(silent, self.sim.t):
            self._event("lost", entry)
        if self.outbox:
            self.outbox.sort(key=lambda entry: entry[0])    # sender order, as the headless runner sends
            self.sim.broadcast([k for k, _ in self.outbox], [b for _, b in self.outbox])
            self.outbox.clear()
        self.sim.step(self.lost.commands(self.cmd, silent, self.sim.position, self.sim.t))
        if self.sim.done:
            self._finish()
        else:
            self._publish_tick()

    def _publish_tick(self) -> None:
        """A tick's radio deliveries and odometry. In lockstep the radio goes first: each odometry
        says how many radio messages its drone gets this tick. In real time the odometry goes
        first: a drone computes once its odometry is in, so radio published ahead of it would
        delay every command of a delivery tick (at 50 drones most late ticks were those); a
        beacon that arrives after its receiver's step is used at the next tick."""
        if self.lockstep:
            self._publish_radio()
        self._publish_odometry(range(self.sim.n))
        if not self.lockstep:
            self._publish_radio()
        if self.poses_every and self.sim.tick % self.poses_every == 0:
            self.poses_pub.publish(self._poses())
        self.tick_sent_at = time.monotonic()
        self.resent = 0

    def _publish_radio(self) -> None:
        sim = self.sim
        self.radio_sent[:] = 0
        for dlv in sim.deliveries():
            # deliveries come sorted by receiver: one radio message per receiver; a beacon that
            # reaches many receivers is packed once (keyed by its content), not once per receiver
            receivers, starts = np.unique(dlv.receiver, return_index=True)
            packed: dict = {}
            senders, sent_at = dlv.sender.tolist(), dlv.sent_at.tolist()
            keys = [(s, t, np.asarray(b).tobytes()) for s, t, b in zip(senders, sent_at, dlv.packet)]
            for r, rows in zip(receivers.tolist(), np.split(np.arange(len(dlv.receiver)), starts[1:])):
                rows = rows.tolist()
                self.rx_pub[r].publish(cdr.encode_radio_packets(
                    [sim.names[senders[i]] for i in rows], [sent_at[i] for i in rows], [dlv.packet[i] for i in rows],
                    packed, [keys[i] for i in rows]))
                self.radio_sent[r] += 1

    def _poses(self) -> PoseArray:
        msg = PoseArray()
        msg.header.stamp = msgs.ros_time(self._tick_ns())
        msg.header.frame_id = topics.WORLD_FRAME
        for x, y, z in self.sim.position.tolist():
            pose = Pose()
            pose.position.x, pose.position.y, pose.position.z = x, y, z
            pose.orientation.w = 1.0
            msg.poses.append(pose)
        return msg

    def _publish_odometry(self, drones) -> None:
        p, v, stamp = self.sim.position, self.sim.velocity, self._tick_ns()
        q, w = self.sim.orientation, self.sim.angular_velocity
        for k in drones:
            self.odom_pub[k].publish(cdr.encode_odometry(stamp, topics.WORLD_FRAME, self.child_frames[k], p[k], v[k],
                                                         q[k], w[k], int(self.radio_sent[k]) if self.lockstep else 0))

    # --- watchdog, status, end ----------------------------------------------------------------
    def _watchdog(self, *_ignored) -> None:
        now = time.monotonic()
        if self.state == "waiting":
            self._startup(now)
            return
        if self.state != "running":
            return
        for k, sub in enumerate(self.cmd_sub):
            if not self.lost.lost[k] and sub.get_publisher_count() == 0:
                self._event("lost", self.lost.declare(k, self.sim.t, "its command publisher is gone"))
        if self.lockstep and self.held_since is not None:
            # Never run ahead of a live recorder: a stalled one would lose what it cannot take.
            if now - self.held_since > RECORDER_SILENT and not self.recorder_wait_said:
                self.recorder_wait_said = True
                self._event("waiting", {"t": self.sim.t, "silent": RECORDER_SILENT})
        elif self.lockstep:
            waiting = np.nonzero(self._waiting())[0]
            silent = now - self.tick_sent_at
            if not len(waiting):
                for _ in range(50):
                    if self.state != "running" or self.held_since is not None or self._waiting().any():
                        break
                    self._advance_unless_recorder_behind()   # nobody left to wait for (every drone lost)
            elif silent > self.cmd_timeout and (silent > COMMAND_PATIENCE or
                                                not alive(self.cmd_sub[k] for k in waiting)):
                self._advance_unless_recorder_behind()        # the silent drones hover this tick
            elif silent > RESEND * (1 + self.resent):
                self.resent += 1             # a first sample can be lost while discovery completes
                self._publish_odometry(waiting)
        self.status_pub.publish(reports.status_message(self._status()))

    def _status(self) -> dict:
        sim, m = self.sim, self.sim.metrics
        wall = time.monotonic() - self.wall0
        return {"t": sim.t, "duration": self.mission.duration, "phase": self.mission.phases.at(sim.t),
                "collisions": len(m.collision_events), "geofence_violations": int(m.fence_violations.sum()),
                "min_separation": m.overall_min_separation, "rtf": sim.t / wall if wall > 0 else 0.0,
                "late_ticks": int(self.late.sum()), "mode": "lockstep" if self.lockstep else "real time"}

    def _finish(self) -> None:
        self.state = "done"
        for timer in self._timers:
            timer.cancel()
        summary = self.sim.summary()
        summary.update(self._status())
        for k, d in enumerate(summary["drones"]):
            d["late_ticks"] = int(self.late[k])
        summary["lost"] = self.lost.record
        if self.updates is not None:
            summary["update_radio"] = self.updates.stats()
        self.summary_pub.publish(reports.summary_message(summary))
        self.status_pub.publish(reports.status_message(self._status()))
        self.node.get_logger().info("mission complete: " + json.dumps(
            {k: summary[k] for k in ("collisions", "geofence_violations", "min_separation", "rtf", "late_ticks")}))
        code = 0
        if self.judge:      # under `ros2 launch`, whose exit code is the processes'
            said, _ = judge(summary)
            if exit_code(summary, self.strict):
                self.node.get_logger().error(said)
                code = EXIT_FAILED
            else:
                self.node.get_logger().info(said)
        self.finished_at = time.monotonic()
        self._timers = [self.node.create_timer(0.1, lambda: self._linger(code))]

    def _linger(self, code: int) -> None:
        """End LINGER s after the summary once every reader has acknowledged it, or ACK_LIMIT s later."""
        waited = time.monotonic() - self.finished_at
        if waited < LINGER:
            return
        if self.summary_pub.wait_for_all_acked(Duration(seconds=0)):
            self.proc.finish(code)
        elif waited > LINGER + ACK_LIMIT:
            self.node.get_logger().warning(f"not every summary reader acknowledged it within {LINGER + ACK_LIMIT:g} s")
            self.proc.finish(code)


def main(argv=None) -> int:
    with Process(argv) as proc:
        p = proc.parameters({"mission_file": "", "speed": -1.0, "wait_recorder": False,
                             "cmd_timeout": 1.0, "startup_timeout": 60.0, "odom_readers": 1, "judge": False,
                             "strict": False, "lost_after": LOST_AFTER, "summary_readers": 0})
        mission = mission_from(p["mission_file"])
        speed = mission.speed if p["speed"] < 0 else p["speed"]
        node = proc.node("simulator")
        SimulatorNode(node, mission, proc, speed, p["wait_recorder"], p["cmd_timeout"], p["startup_timeout"],
                      p["odom_readers"], p["judge"], p["strict"], p["lost_after"], p["summary_readers"])
        return proc.spin([node])


if __name__ == "__main__":
    raise SystemExit(main())
