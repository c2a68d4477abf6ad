"""Swarm view node: drones and world as visualization_msgs/MarkerArray for RViz and Foxglove.

Turns /swarm/poses (the whole swarm in one message, at the view rate) into /swarm/markers:
one body per drone coloured by its platform file's `colour` and sized by its body radius, with a name label. The
geofence and obstacles go to the latched /swarm/world: once, and again when an obstacle with
`appear_at` appears (until then it is drawn faint red).

With `live_port` >= 0 it also serves the Foxglove live view (swarm_ros/live_view.py) on
`live_host`:`live_port`: the same poses, /swarm/status, and the paths of any mission service
whose answers are paths, handed to the scene code the headless runner's view uses.
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Point, PoseArray
from std_msgs.msg import ColorRGBA
from swarm_ros_interfaces.msg import SwarmStatus
from visualization_msgs.msg import Marker, MarkerArray

from sim.world import Box
from swarm_ros import topics
from swarm_ros.nodes.reports import status_dict
from swarm_ros.nodes.runtime import Process, mission_from, qos
from swarm_ros.nodes.service_link import link_of



def _marker(ns: str, ident: int, kind: int, position, scale, rgb, alpha=1.0) -> Marker:
    m = Marker()
    m.header.frame_id = topics.WORLD_FRAME
    m.ns, m.id, m.type, m.action = ns, ident, kind, Marker.ADD
    m.pose.position.x, m.pose.position.y, m.pose.position.z = (float(c) for c in position)
    m.pose.orientation.w = 1.0
    m.scale.x, m.scale.y, m.scale.z = (float(s) for s in scale)
    m.color = ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=alpha)
    return m


def world_markers(world, t: float = 0.0) -> MarkerArray:
    """Geofence and obstacles at mission time t (obstacles still to appear faint red)."""
    out = MarkerArray()
    for k, o in enumerate(world.obstacles):
        there = o.appear_at is None or o.appear_at <= t
        rgb, alpha = ((0.5, 0.5, 0.5), 0.8) if there else ((1.0, 0.3, 0.3), 0.15)
        if isinstance(o, Box):
            out.markers.append(_marker("obstacles", k, Marker.CUBE, o.center, o.size, rgb, alpha))
        else:
            mid = (o.center[0], o.center[1], 0.5 * (o.z_min + o.z_max))
            out.markers.append(_marker("obstacles", k, Marker.CYLINDER, mid,
                                       (2 * o.radius, 2 * o.radius, o.z_max - o.z_min), rgb, alpha))
    fence = _marker("geofence", 0, Marker.LINE_LIST, (0, 0, 0), (0.03, 0, 0), (1.0, 0.2, 0.2))
    lo, hi = world.bounds_min, world.bounds_max
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    for a in range(8):
        for b in range(a + 1, 8):
            if np.count_nonzero(corners[a] != corners[b]) == 1:   # the 12 edges of the box
                fence.points += [Point(x=float(c[0]), y=float(c[1]), z=float(c[2])) for c in (corners[a], corners[b])]
    out.markers.append(fence)
    return out


class SwarmView:
    def __init__(self, node, mission, live=None):
        self.node = node
        self.drones, self.world = mission.fleet.drones, mission.world
        self.pub = node.create_publisher(MarkerArray, topics.MARKERS, qos(topics.MARKERS))
        self.world_pub = node.create_publisher(MarkerArray, topics.WORLD, qos(topics.WORLD))
        self.world_pub.publish(world_markers(mission.world))
        self.to_appear = sorted(set(t for t in mission.world.appear_at.tolist() if t > 0))
        self.drone_markers: MarkerArray | None = None
        node.create_subscription(PoseArray, topics.POSES, self.on_poses, qos(topics.POSES))
        self.live = live
        if live is not None:
            self.previous, self.status = None, None
            node.create_subscription(SwarmStatus, topics.STATUS, self.on_status, qos(topics.STATUS))
            for use in mission.services.values():
                if use.kind.answer_topic and use.kind.plans_paths():
                    link = link_of(use.kind)
                    for i in use.drones:
                        node.create_subscription(link.answer_type, topics.of(self.drones[i].name, use.kind.answer_topic),
                                                 self._on_answer(i, use.kind, link), qos(use.kind.answer_topic))

    def _on_answer(self, drone: int, kind, link):
        def on_answer(msg) -> None:
            try:
                self.live.set_path(drone, kind.path_of(link.decode_answer(msg)))
            except ValueError as err:
                self.node.get_logger().warning(f"skipped a malformed answer: {err}", throttle_duration_sec=5.0)
        return on_answer

    def on_status(self, msg) -> None:
        self.status = status_dict(msg)

    def _live_frame(self, t: float, p: np.ndarray) -> None:
        """Velocities from successive poses (the poses carry none)."""
        prev = self.previous
        v = (p - prev[1]) / (t - prev[0]) if prev is not None and t > prev[0] else np.zeros_like(p)
        self.previous = (t, p)
        self.live.frame(t, p, v, self.status)

    def on_poses(self, msg: PoseArray) -> None:
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if self.to_appear and t >= self.to_appear[0]:
            self.to_appear = [a for a in self.to_appear if a > t]
            self.world_pub.publish(world_markers(self.world, t))
        if len(msg.poses) != len(self.drones):
            self.node.get_logger().warning(f"got {len(msg.poses)} poses for {len(self.drones)} drones; skipped",
                                           throttle_duration_sec=5.0)
            return
        if self.live is not None:
            self._live_frame(t, np.array([[q.position.x, q.position.y, q.position.z] for q in msg.poses]))
        if self.drone_markers is None:
            # made once: each frame only moves them (publishing serializes, so reuse is safe)
            self.drone_markers = MarkerArray()
            for d in self.drones:
                rgb, size = d.platform_spec.colour, max(2 * d.vehicle.body_radius, 0.15)
                body = _marker("drones", d.index, Marker.SPHERE, (0, 0, 0), (size, size, 0.4 * size), rgb)
                label = _marker("labels", d.index, Marker.TEXT_VIEW_FACING, (0, 0, 0), (0, 0, 0.25), (1, 1, 1))
                label.text = f"{d.name} ({d.role})"
                self.drone_markers.markers += [body, label]
        markers = self.drone_markers.markers
        for k, (d, pose) in enumerate(zip(self.drones, msg.poses)):
            body, label = markers[2 * k], markers[2 * k + 1]
            x, y, z = pose.position.x, pose.position.y, pose.position.z
            body.pose.position.x, body.pose.position.y, body.pose.position.z = x, y, z
            label.pose.position.x, label.pose.position.y, label.pose.position.z = x, y, z + body.scale.x
            body.header.stamp = label.header.stamp = msg.header.stamp
        self.pub.publish(self.drone_markers)


def main(argv=None) -> int:
    with Process(argv) as proc:
        p = proc.parameters({"mission_file": "", "live_host": "127.0.0.1", "live_port": -1})
        mission = mission_from(p["mission_file"])
        node = proc.node("swarm_view")
        live = None
        if p["live_port"] >= 0:
            from swarm_ros.live_view import LiveView
            live = LiveView(mission, p["live_host"], p["live_port"])
            node.get_logger().info(f"live view at {live.url}")
        try:
            SwarmView(node, mission, live)
            return proc.spin([node])
        finally:
            if live is not None:
                live.close()


if __name__ == "__main__":
    raise SystemExit(main())
