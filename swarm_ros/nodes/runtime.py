"""Process plumbing shared by every executable: init, parameters, QoS, spinning, clean exit.

Measured pitfalls of rclpy 9 (the PyPI wheels) shape this module: the EventsExecutor must
spin in the main thread and only with a timeout (spinning without one busy-loops and ignores
shutdown), so processes spin in short slices until a stop future is set by a signal or by
the node itself; rclpy's own signal handlers are replaced by ones that just set that future.
"""
from __future__ import annotations

import gc
import os
import signal
import sys

import rclpy
from rclpy.context import Context
from rclpy.experimental import EventsExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from swarm_ros import topics
from swarm_ros.nodes import parameters

SPIN_SLICE = 0.1   # s: longest a process goes without checking its stop future
READERS_PER_PARTICIPANT = 50   # subscriptions per DDS participant in processes that hold hundreds

# Lockstep waits (wall s) for a message whose publisher still lives. A process stalled by a
# loaded machine must not cost a lockstep run its equality with the headless run, so these are
# far longer than the shorter waits used once the publisher is gone (a dead process must not
# stop the swarm). Each is shorter than the next one down the chain service -> drone -> simulator,
# so that a slow service costs the drones no hover ticks.
REPORT_PATIENCE = 2.0    # a mission service for the drones' reports of an iteration
ANSWER_PATIENCE = 2.5    # a drone for its radio messages and service answers
COMMAND_PATIENCE = 3.0   # the simulator for a drone's command


def alive(subscriptions) -> bool:
    """Every subscription still matched to a publisher (a process that died cleanly leaves
    none; one killed outright is seen gone after the DDS lease, 20 s)."""
    return all(s.get_publisher_count() > 0 for s in subscriptions)


def qos(topic: str) -> QoSProfile:
    latched, kept = topic in topics.LATCHED, topics.KEPT.get(topics.kind(topic))
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1 if latched else kept or topics.DEPTH,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if latched or kept else DurabilityPolicy.VOLATILE)


def qos_latest(topic: str) -> QoSProfile:
    """Reliable, but keep only the newest sample: for readers that act on the latest state."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


EXIT_FAILED = 4        # exit code of a node with `judge` when the mission failed (not a crash's 1)


class Process:
    """One ROS process: `with Process() as proc:` make nodes, then `proc.spin(nodes)`."""

    def __init__(self, argv=None):
        os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        self.argv = sys.argv if argv is None else argv
        self.stop = Future()
        self.exit_code = 0
        self.declared: dict = {}            # parameters read, declared on every node made after
        self.declared_defaults: dict = {}
        self.contexts: list = []            # extra rclpy contexts (DDS participants), from participant()

    def __enter__(self) -> "Process":
        rclpy.init(args=self.argv, signal_handler_options=SignalHandlerOptions.NO)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.finish(0))
        return self

    def __exit__(self, *exc) -> None:
        for context in self.contexts:
            rclpy.try_shutdown(context=context)
        rclpy.try_shutdown()
        # The process is ending anyway: a stop signal arriving now must not turn into a
        # KeyboardInterrupt in the middle of interpreter teardown.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)

    def finish(self, code: int = 0) -> None:
        if not self.stop.done():
            self.exit_code = code
            self.stop.set_result(code)

    def parameters(self, defaults: dict) -> dict:
        """Read this process's ROS parameters (from --ros-args or a launch file) with defaults.

        A short-lived node reads them, so that processes holding several nodes need no
        name remapping and per-drone processes keep their launch-given name. Each value must
        have its default's type (one-line error and exit 2 otherwise); every node this process
        makes afterwards declares them, described and read-only, for `ros2 param`.
        """
        node = rclpy.create_node("swarm_params_reader", start_parameter_services=False, enable_rosout=False,
                                 automatically_declare_parameters_from_overrides=True)
        try:
            given = {k: node.get_parameter(k).value for k in defaults if node.has_parameter(k)}
        finally:
            node.destroy_node()
        try:
            values = {k: parameters.checked(k, given[k], v) if k in given else v for k, v in defaults.items()}
        except parameters.ParameterError as err:
            print(f"error: {self.argv[0] if self.argv else 'node'}: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        self.declared.update(values)
        self.declared_defaults.update(defaults)
        return values

    def node(self, name: str, namespace: str = "", light: bool = False, context=None):
        """A node; `light` ones (many per process) skip parameter services and rosout; `context`
        from `participant()` puts it in that DDS participant instead of the process's first."""
        node = rclpy.create_node(name, namespace=namespace, start_parameter_services=not light,
                                 enable_rosout=not light, context=context)
        parameters.declare(node, self.declared, self.declared_defaults)
        return node

    def participant(self) -> Context:
        """A DDS participant of its own (an rclpy context) for the nodes made with it.

        Fast DDS hands every data and heartbeat message that more than one reader receives to
        each reader of the receiving participant in turn (StatefulReader::acceptMsgFrom), so a
        participant's cost per message grows with its reader count: a process with hundreds of
        subscriptions spreads them over participants of about READERS_PER_PARTICIPANT each.
        One executor spins the nodes of every context."""
        context = Context()
        rclpy.init(args=self.argv, context=context, signal_handler_options=SignalHandlerOptions.NO)
        self.contexts.append(context)
        return context

    def spin(self, nodes) -> int:
        # Everything made so far (rclpy, numpy, numba, the mission) lives as long as the process:
        # frozen, the collector stops rescanning it. Without this every full collection walked
        # that whole heap, a large share of a busy drone process's time.
        gc.collect()
        gc.freeze()
        executor = EventsExecutor()
        for n in nodes:
            executor.add_node(n)
        try:
            while not self.stop.done() and rclpy.ok():
                executor.spin_until_future_complete(self.stop, timeout_sec=SPIN_SLICE)
        finally:
            executor.shutdown()
            for n in nodes:
                n.destroy_node()
        return self.exit_code


def mission_from(path: str):
    """Load the mission a node was given; a bad file ends the process with the one-line error."""
    from swarm_ros.core.configfile import ConfigError
    from swarm_ros.mission import load_mission
    try:
        return load_mission(path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def run_service(argv, name: str, service, missing, extra: dict | None = None) -> int:
    """The main of a mission service node: load the mission, refuse one without the service
    (`missing(mission)` gives the reason, or None), then spin `service(node, mission, **values)`
    with the values of the `extra` parameters (name -> default) it reads beside the mission file."""
    with Process(argv) as proc:
        values = proc.parameters({"mission_file": "", **(extra or {})})
        mission = mission_from(values.pop("mission_file"))
        reason = missing(mission)
        if reason:
            print(f"error: mission {mission.file} {reason}", file=sys.stderr)
            return 2
        node = proc.node(name)
        service(node, mission, **values)
        return proc.spin([node])
