"""A process stuck in its DDS start-up is started again, once.

Fast DDS can deadlock while a process creates its first endpoints as many participants start
at once: on a loaded two-core machine a per-drone process stayed 80 s inside rclpy's
create_publisher of its first node (its stack, dumped by SIGUSR1), and the simulator gave up on
the whole run when its start-up timeout passed. Until the mission starts, the runner therefore
looks, STUCK_AFTER seconds after each process started, for drone processes none of whose drones
publishes commands and for the other processes (simulator, recorder, swarm view, services) whose
node has no publisher at all (rclpy's node makes its /parameter_events publisher as it is
created), has each write its stacks to its log, kills it and starts it again (once). Runs over
made hosts are left alone (a process there is started on its own host)."""
from __future__ import annotations

import time

from . import topics

STUCK_AFTER = 30.0   # s after its start: ten times a drone process's start-up on a loaded machine
CHECK_EVERY = 2.0    # s between looks


class StuckStart:
    def __init__(self, node, group):
        self.node, self.group = node, group
        self.restarted: set[int] = set()
        self.looked = time.monotonic()

    def joined(self, spec) -> bool:
        if spec.executable == "drone":
            return any(self.node.count_publishers(topics.of(d, topics.CMD)) for d in spec.parameters.get("drones") or [])
        from rclpy.node import NodeNameNonExistentError
        try:
            return bool(self.node.get_publisher_names_and_types_by_node(spec.name, spec.namespace or "/"))
        except NodeNameNonExistentError:
            return False

    def check(self) -> list[str]:
        """Restart the processes stuck in start-up; what to tell the user."""
        now = time.monotonic()
        if now - self.looked < CHECK_EVERY or self.group.hosts is not None:
            return []
        self.looked = now
        said = []
        for k, (spec, proc, log) in enumerate(self.group.procs):
            if not (spec.executable == "drone" or spec.name) or k in self.restarted or \
                    proc.poll() is not None or now - self.group.started[k] < STUCK_AFTER or self.joined(spec):
                continue
            self.restarted.add(k)
            self.group.restart(k)
            said.append(f"{spec.where} had not joined {STUCK_AFTER:g} s after its start (stuck in DDS "
                        f"start-up?); started it again (its stacks: {log})")
        return said
