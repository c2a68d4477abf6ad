"""FISC-like swarm node: a large swarm (1,000+ agents) flown in one process and shown over ROS.

Runs swarm_ros/control/fisc_swarm.py (the batched FISC-like law through a converging-diverging channel) as a
FISC swarm file says (`swarm_file`, swarm_ros/fisc_swarm_file.py; without one, the default
channel and the parameters below) at `rate` steps per simulated second, `speed` times real time
(0: as fast as it goes; a value >= 0 given to the node overrides the file's), and
publishes every agent in flight on /swarm/fisc/poses (geometry_msgs/PoseArray; z = `altitude`
in a 2-D channel) and /swarm/fisc/markers (one SPHERE_LIST marker coloured by speed) `view_rate`
times per simulated second; the channel's walls go once to the latched /swarm/fisc/channel.
A thin translator: the simulation knows nothing of ROS. Ends after `duration` s (0: never),
writing its safety summary (worst separation and wall clearance, counts, flux) as JSON to
`summary_path` when given.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseArray
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from sim.channel import Channel
from swarm_ros.control.fisc_swarm import FiscChannelSim, SafetyWatch
from swarm_ros import topics
from swarm_ros.nodes import fisc_topics
from swarm_ros.fisc_swarm_file import swarm_file_or_exit
from swarm_ros.nodes.runtime import Process, qos

DEFAULTS = {"swarm_file": "", "summary_path": "", "dim": 2, "height": 1.2, "rate": 20.0, "speed": -1.0,
            "view_rate": 5.0, "duration": 0.0, "altitude": 1.0, "seed": 0}


def channel_markers(channel: Channel, altitude: float) -> MarkerArray:
    xs = np.linspace(0.0, channel.length, 60)
    half = 0.5 * channel.width(xs)
    z = altitude if channel.dim == 2 else 0.0
    out = MarkerArray()
    for k, sign in enumerate((1.0, -1.0)):
        m = Marker(type=Marker.LINE_STRIP, action=Marker.ADD, ns="fisc_channel", id=k)
        m.header.frame_id = topics.WORLD_FRAME
        m.pose.orientation.w = 1.0
        m.scale.x = 0.05
        m.color = ColorRGBA(r=0.8, g=0.8, b=0.8, a=1.0)
        m.points = [Point(x=float(x), y=float(sign * h), z=float(z)) for x, h in zip(xs, half)]
        out.markers.append(m)
    return out


class FiscSwarm:
    def __init__(self, node, proc: Process, p: dict):
        self.node, self.proc = node, proc
        if p["swarm_file"]:
            spec = swarm_file_or_exit(p["swarm_file"])
            self.name, self.sim = spec.name, spec.make_sim()
            rate, view_rate, speed, duration = spec.rate, spec.view_rate, spec.speed, spec.duration
            self.altitude = spec.altitude
        else:
            channel = Channel(height=float(p["height"]) if int(p["dim"]) == 3 else None)
            self.name = "fisc_default"
            self.sim = FiscChannelSim(channel, dt=1.0 / float(p["rate"]), seed=int(p["seed"]))
            rate, view_rate, speed, duration = float(p["rate"]), float(p["view_rate"]), 1.0, float(p["duration"])
            self.altitude = float(p["altitude"])
        speed = float(p["speed"]) if float(p["speed"]) >= 0 else speed
        self.duration = float(p["duration"]) or duration
        self.summary_path = p["summary_path"]
        self.watch = SafetyWatch(self.sim)
        self.every = max(1, int(round(rate / view_rate))) if view_rate > 0 else 0
        channel = self.sim.channel
        self.poses = node.create_publisher(PoseArray, fisc_topics.POSES, qos(fisc_topics.POSES))
        self.markers = node.create_publisher(MarkerArray, fisc_topics.MARKERS, qos(fisc_topics.MARKERS))
        walls = node.create_publisher(MarkerArray, fisc_topics.CHANNEL, qos(fisc_topics.CHANNEL))
        walls.publish(channel_markers(channel, self.altitude))
        node.create_timer(self.sim.dt / speed if speed > 0 else 1e-4, self.tick)

    def tick(self) -> None:
        if self.duration and self.sim.t >= self.duration - 1e-9:
            self.finish()
            return
        self.sim.step(self.watch.sample)
        if self.every and self.sim.steps % self.every == 0:
            self.publish()

    def finish(self) -> None:
        summary = self.watch.summary(self.name)
        print(json.dumps(summary), flush=True)
        if self.summary_path:
            Path(self.summary_path).write_text(json.dumps(summary, indent=2))
        self.proc.finish(1 if summary["contacts"] or summary["left_channel"] else 0)

    def publish(self) -> None:
        pos, vel = self.sim.pos, self.sim.vel
        xyz = pos if pos.shape[1] == 3 else np.column_stack([pos, np.full(len(pos), self.altitude)])
        stamp = self.node.get_clock().now().to_msg()
        msg = PoseArray()
        msg.header.frame_id, msg.header.stamp = topics.WORLD_FRAME, stamp
        points = [Point(x=x, y=y, z=z) for x, y, z in xyz.tolist()]
        poses = []
        for pt in points:
            pose = Pose()
            pose.position = pt
            pose.orientation.w = 1.0
            poses.append(pose)
        msg.poses = poses
        self.poses.publish(msg)
        m = Marker(type=Marker.SPHERE_LIST, action=Marker.ADD, ns="fisc_agents", id=0)
        m.header.frame_id, m.header.stamp = topics.WORLD_FRAME, stamp
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = m.scale.z = 2 * self.sim.vehicle.body_radius
        m.points = points
        level = np.clip(np.linalg.norm(vel, axis=1) / self.sim.limits.max_speed, 0.0, 1.0).tolist()
        m.colors = [ColorRGBA(r=s, g=0.3, b=1.0 - s, a=1.0) for s in level]
        self.markers.publish(MarkerArray(markers=[m]))


def main(argv=None) -> int:
    with Process(argv) as proc:
        p = proc.parameters(DEFAULTS)
        node = proc.node("fisc_swarm")
        FiscSwarm(node, proc, p)
        return proc.spin([node])


if __name__ == "__main__":
    raise SystemExit(main())
