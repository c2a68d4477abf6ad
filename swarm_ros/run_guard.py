"""One mission per ROS domain: a run announces itself, and refuses to fly beside another.

Two missions on one domain read each other's topics (the same /cf1/odom) and both fly wrong
without noticing. So each `swarm-ros launch` publishes its run id on /swarm/run (latched, so a
run starting later still gets it) and listens there: another run's id before its nodes start
refuses the launch. Under load discovery is slow, so a launch listens while the graph still
grows; when two runs still meet after both started, the one that announced itself later
stops, and the earlier one flies on with a warning. `free_domain` finds a domain with no ROS
node on it at all, for `--domain-id auto`: it looks at endpoints as well as node names, as DDS
endpoint discovery arrives before the node graph (which a loaded machine delays by seconds).
"""
from __future__ import annotations

import json
import os
import time
import uuid

ANNOUNCE_WAIT = 2.0   # s to listen for another run before starting (discovery on loopback takes ~0.5 s) ...
ANNOUNCE_LIMIT = 15.0  # ... and longer while nodes keep appearing on the domain, up to this
PROBE_WAIT = 3.0      # s to watch a domain for nodes or endpoints before calling it free (loaded: >1.5 s)
DOMAINS = range(0, 233)   # valid ROS_DOMAIN_IDs with loopback discovery (the ports stay below 65536)


class Conflict(RuntimeError):
    """Another mission is live on the run's domain."""


def describe(run: dict) -> str:
    return f"mission {run.get('mission', '?')!r} (pid {run.get('pid', '?')}, run folder {run.get('run_dir', '?')})"


class RunGuard:
    """The announcement of this run on its domain, and what other runs announce there."""

    def __init__(self, node, mission_name: str, run_dir, domain_id: int):
        from std_msgs.msg import String
        from . import topics
        from .nodes.runtime import qos
        self.domain_id = domain_id
        self.node = node
        self.me = {"run": uuid.uuid4().hex, "mission": mission_name, "pid": os.getpid(), "run_dir": str(run_dir)}
        self.others: dict[str, dict] = {}
        self.warned: set[str] = set()
        node.create_subscription(String, topics.RUN, self._on_run, qos(topics.RUN))
        self.pub = node.create_publisher(String, topics.RUN, qos(topics.RUN))
        self.message = String(data=json.dumps(self.me))

    def listen(self, spin) -> None:
        """Listen for another run before starting: ANNOUNCE_WAIT s, longer while the domain's
        graph still grows or another run's announcement is on its way. `spin(s)` spins the node."""
        from . import topics
        t0 = time.monotonic()
        seen, changed = 0, t0
        while not self.others:
            now = time.monotonic()
            nodes = len(self.node.get_node_names_and_namespaces())
            if nodes > seen:
                seen, changed = nodes, now
            other_publisher = self.node.count_publishers(topics.RUN) > 1
            quiet = now - changed >= ANNOUNCE_WAIT and not other_publisher
            if (now - t0 >= ANNOUNCE_WAIT and quiet) or now - t0 >= ANNOUNCE_LIMIT:
                break
            spin(0.1)
        if not self.others and self.node.count_publishers(topics.RUN) > 1:
            self.others["?"] = {"mission": "?"}     # a run's announcer, its message not through yet

    def announce(self) -> None:
        """Say this run is live (only once it has checked that no other is: a refused launch
        must not stop the run it was refused for)."""
        self.me["since"] = time.time()
        self.message.data = json.dumps(self.me)
        self.pub.publish(self.message)

    def _on_run(self, msg) -> None:
        try:
            run = json.loads(msg.data)
        except ValueError:
            run = {"run": msg.data}
        if isinstance(run, dict) and run.get("run") != self.me["run"]:
            self.others.setdefault(str(run.get("run")), run)

    def check(self, started: bool) -> str | None:
        """Raise Conflict if another run has announced itself on this domain; once started, only
        if this run announced itself after the other (the other one's warning is returned)."""
        if not self.others:
            return None
        key, run = next(iter(self.others.items()))
        other = describe(run)
        if started:
            mine = (self.me.get("since", 0.0), self.me["run"])
            if mine < (float(run.get("since", 0.0) or 0.0), str(run.get("run"))):
                if key in self.warned:
                    return None
                self.warned.add(key)
                return (f"another mission started on ROS domain {self.domain_id}: {other}; "
                        "it stops, but the two may have read each other's topics meanwhile")
            raise Conflict(f"another mission appeared on ROS domain {self.domain_id}: {other}; "
                           "stopped, as the two would read each other's topics")
        raise Conflict(f"another mission is live on ROS domain {self.domain_id}: {other}; "
                       "choose another with --domain-id N, or --domain-id auto")


def _others_on(node) -> bool:
    """Whether the probe `node` sees any node, topic or endpoint but its own (one publisher on
    /parameter_events)."""
    if any(name != node.get_name() for name, _ in node.get_node_names_and_namespaces()):
        return True
    topics = [name for name, _ in node.get_topic_names_and_types()]
    return (any(t != "/parameter_events" for t in topics)
            or node.count_publishers("/parameter_events") > 1 or node.count_subscribers("/parameter_events") > 0)


def free_domain(start: int, tries: int = 20) -> int:
    """The first domain from `start` on which no other ROS node or endpoint is seen within PROBE_WAIT."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    for domain in [d for d in range(start, start + tries) if d in DOMAINS]:
        context = rclpy.Context()
        rclpy.init(context=context, domain_id=domain, signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = rclpy.create_node("swarm_ros_domain_probe", context=context, start_parameter_services=False,
                                     enable_rosout=False)
            deadline, busy = time.monotonic() + PROBE_WAIT, False
            while time.monotonic() < deadline and not busy:
                time.sleep(0.1)
                busy = _others_on(node)
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)
        if not busy:
            return domain
    raise Conflict(f"no free ROS domain among {start}-{start + tries - 1}: every one has nodes on it")
