"""`swarm-ros deploy`: fly a mission on real vehicles through the hardware backends.

Order of events: links and backends from the fleet (and an optional link map); preflight on
every vehicle (nothing arms unless all pass); the drone nodes start as in simulation; the
vehicle bridge stands in for the simulator; every vehicle arms; the mission clock starts; at
the end (or on Ctrl-C, or any error) every vehicle lands through its own landing, a second Ctrl-C stops the
motors. A live table shows each drone's link, mode, battery and position.
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
import traceback
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.live import Live
from rich.table import Table

from sim.metrics import SwarmMetrics
from .core.configfile import ConfigError
from .hardware import MIXED, make_backend
from .hardware.base import LinkError
from .hardware.links import fleet_links
from .hardware.preflight import Limits, VehicleCheck, check_vehicle, connect_all
from .launching import ISOLATION, NodeSpec, ProcessGroup, default_run_dir, drone_specs, log_tail, ros_environment
from .report import cell

READY_TIMEOUT = 60.0     # s for the drone nodes to connect to the bridge
LAND_MARGIN = 10.0       # s beyond height / landing speed to wait for touch-down
LANDED_SPEED = 0.2       # m/s


class DeployError(RuntimeError):
    pass


def make_backends(mission, choice: str, overrides: dict | None = None) -> dict:
    """One backend per drone, that of its platform's autopilot; `choice` (an autopilot, or mixed)
    must match every drone's."""
    links = fleet_links(mission.fleet, overrides)
    kinds = {d.name: d.autopilot for d in mission.fleet.drones}
    if choice != MIXED:
        wrong = [f"{n} ({mission.fleet.by_name(n).platform})" for n, k in kinds.items() if k != choice]
        if wrong:
            raise ConfigError(mission.fleet.file, "drones", f"--backend {choice} cannot fly {', '.join(wrong)}",
                              f"--backend {MIXED}, or a fleet of only platforms with autopilot: {choice}")
    return {n: make_backend(kinds[n], mission.fleet.by_name(n), links[n]) for n in mission.fleet.names}


def preflight(mission, backends: dict, limits: Limits) -> tuple[list, list[str]]:
    """(checks, problems): connect all, then check each connected vehicle."""
    errors = connect_all(backends, limits.connect_timeout)
    checks, problems = [], []
    for name, backend in backends.items():
        if errors[name]:
            checks.append(VehicleCheck(name, backend.kind, backend.uri, [errors[name]]))
        else:
            checks.append(check_vehicle(mission, backend, limits))
        problems += checks[-1].problems
    return checks, problems


def close_all(backends: dict) -> None:
    """Close every link at once (a Crazyflie link takes up to a second to wind down)."""
    threads = [threading.Thread(target=b.close, daemon=True) for b in backends.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5.0)


def preflight_table(checks) -> Table:
    """One row per vehicle; what an unreachable vehicle could not report is "-"."""
    table = Table(title="preflight", title_justify="left")
    for col in ("drone", "backend", "link", "battery", "position", "failsafe hold/land", "result"):
        table.add_column(col)
    for c in checks:
        hold, land = c.failsafe
        failsafe = "-" if cell(hold) == cell(land) == "-" else f"{cell(hold)} / {cell(land)} s"
        result = "ok" if c.ok else "[red]FAIL[/]" if c.connected else "[red]unreachable[/]"
        table.add_row(c.name, c.kind, c.uri, cell(c.battery, "{:.0f} %"), _position(c.position), failsafe, result)
    return table


def _position(p) -> str:
    return "-" if p is None or not np.isfinite(p).all() else " ".join(f"{x:.2f}" for x in p)


def status_table(mission, backends: dict, bridge, phase: str) -> Table:
    table = Table(title=f"{mission.name}: t {bridge.t:5.1f}/{mission.duration:g} s  {phase}", title_justify="left")
    for col in ("drone", "backend", "link", "mode", "armed", "battery", "x", "y", "z", "speed", "late"):
        table.add_column(col, justify="right" if col in ("x", "y", "z", "speed", "late", "battery") else "left")
    for k, (name, b) in enumerate(backends.items()):
        s = b.state()
        link = f"{100 * s.link_quality:3.0f} %" if s.connected else "[red]LOST[/]"
        table.add_row(name, b.kind, link, s.mode, "yes" if s.armed else "no", cell(float(s.battery), "{:.0f} %"),
                      *[cell(float(x), "{:.2f}") for x in s.position], cell(float(np.linalg.norm(s.velocity)), "{:.2f}"),
                      str(bridge.late[k]))
    return table


class _Interrupts:
    """Ctrl-C (and SIGTERM) counted instead of raised: the first lands, the second stops motors."""

    def __init__(self):
        self.count = 0
        self.previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, *_):
        self.count += 1

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _landed(backends: dict) -> list[str]:
    out = []
    for name, b in backends.items():
        s = b.state()
        # down by the vehicle's own verdict and still, or down and disarmed (PX4's estimate keeps a
        # few tenths of a m/s of velocity noise on the ground after it disarmed itself)
        if not s.airborne and (not s.armed or np.linalg.norm(s.velocity) < LANDED_SPEED):
            out.append(name)
    return out


RECORDED = ("odom", "cmd", "radio")      # what a deployment publishes (no simulator status or view)
RECORDER_CLOSE_TIMEOUT = 20.0            # s for the recorder to close the bag after the summary


def node_specs(mission, run_dir: Path, per_drone_processes: bool, record: bool) -> list[NodeSpec]:
    """The drone nodes (as in simulation) and the recorder of a deployment."""
    mf = mission.file
    specs = drone_specs(mission, per_drone_processes)
    if record:
        kinds = [k for k in mission.record.topics if k in RECORDED] or list(RECORDED)
        specs.append(NodeSpec("recorder", "recorder", "/swarm", {"mission_file": mf, "bag_path": str(run_dir / "bag"),
                                                                 "topics": kinds}))
    return specs


def fly(mission, backends: dict, *, console: Console, domain_id: int | None = None,
        per_drone_processes: bool = False, run_dir: Path | None = None, record: bool | None = None,
        start_nodes: bool = True) -> dict:
    """Fly `mission` on connected, preflight-checked backends; returns the summary. With
    `start_nodes` False the node_specs processes are started by someone else (deploy.launch.py)."""
    import rclpy
    import rclpy.task
    from rclpy.experimental import EventsExecutor
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String
    from swarm_ros_interfaces.msg import SwarmSummary
    from . import topics
    from .nodes import reports
    from .nodes.runtime import qos
    from .nodes.vehicle_bridge import VehicleBridge

    record = mission.record.enabled if record is None else record
    run_dir = Path(run_dir) if run_dir else default_run_dir(mission).with_name(default_run_dir(mission).name + "_deploy")
    if domain_id is None:
        domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    os.environ.update(ISOLATION)
    group = ProcessGroup(ros_environment(domain_id), run_dir / "logs")
    specs = node_specs(mission, run_dir, per_drone_processes, record)
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("swarm_ros_deploy", context=context, start_parameter_services=False, enable_rosout=False)
    bridge = VehicleBridge(node, mission, backends)
    recorder_ready = [not record]
    node.create_subscription(String, topics.RECORDER_READY, lambda _m: recorder_ready.__setitem__(0, True),
                             qos(topics.RECORDER_READY))
    summary_pub = node.create_publisher(SwarmSummary, topics.SUMMARY, qos(topics.SUMMARY))
    executor = EventsExecutor(context=context)
    executor.add_node(node)
    metrics = SwarmMetrics([mission.fleet.by_name(n).vehicle.body_radius for n in backends], mission.world,
                           np.array([b.state().position for b in backends.values()]), mission.phases)
    spin = lambda s: executor.spin_until_future_complete(rclpy.task.Future(), timeout_sec=s)   # noqa: E731
    outcome, armed = "completed", []
    try:
        with _Interrupts() as interrupts:
            for k, spec in enumerate(specs if start_nodes else []):
                group.start(spec, k)
            _wait_ready(lambda: bridge.ready() and recorder_ready[0], group, interrupts, spin, run_dir)
            try:
                for name, b in backends.items():
                    b.arm()
                    armed.append(name)
                bridge.start()
                console.print(f"all {len(backends)} vehicles armed; mission {mission.name!r} starts")
                outcome = _mission_loop(mission, backends, bridge, metrics, interrupts, console, spin)
            except LinkError as err:      # a vehicle refused to arm, or its link was lost in flight
                outcome = f"failed: {err}"
                console.print(f"[red]error:[/] {err}; landing every vehicle")
            except Exception as err:      # a fault of our own (a callback, a driver, the table): land all the same
                outcome = f"failed: {type(err).__name__}: {_first_line(err)}"
                trace = run_dir / "logs" / "deploy_error.log"
                trace.parent.mkdir(parents=True, exist_ok=True)
                trace.write_text(traceback.format_exc())
                console.print(f"[red]error:[/] {outcome} (traceback in {trace}); landing every vehicle", highlight=False)
            finally:                      # whatever ended the flight, armed vehicles land before the links close
                _land_all(mission, {n: backends[n] for n in armed}, bridge, metrics, interrupts, console, spin)
    finally:
        summary = _summary(mission, backends, bridge, metrics, outcome, run_dir, record and armed)
        bridge.halt()
        if armed:
            summary_pub.publish(reports.summary_message(summary))      # the recorder closes the bag on it
            for spec, proc, _log in group.procs:
                if spec.executable == "recorder":
                    deadline = time.monotonic() + RECORDER_CLOSE_TIMEOUT
                    while proc.poll() is None and time.monotonic() < deadline:
                        spin(0.1)
        group.stop()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _wait_ready(ready, group, interrupts, spin, run_dir) -> None:
    """Until the drone nodes (and the recorder) are connected; nothing is armed before."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        spin(0.1)
        failed = group.failed()
        if failed:
            spec, code, log = failed[0]
            raise DeployError(f"{spec.executable} node exited with code {code}; its log {log} ends:\n{log_tail(log)}")
        if interrupts.count:
            raise DeployError("interrupted before take-off; no vehicle was armed")
        if time.monotonic() > deadline:
            raise DeployError(f"drone nodes did not connect within {READY_TIMEOUT:g} s; logs in {run_dir / 'logs'}")


def _summary(mission, backends, bridge, metrics, outcome, run_dir, recorded) -> dict:
    landed = _landed(backends)
    return {"mission": mission.name, "outcome": outcome, "mission_time": bridge.t,
            "collisions": len(metrics.collision_events), "geofence_violations": int(metrics.fence_violations.sum()),
            **metrics.separations(),
            "drones": [{"name": n, "backend": b.kind, "link": b.uri, "landed": n in landed,
                        "late_ticks": int(bridge.late[k]), "battery": b.state().battery}
                       for k, (n, b) in enumerate(backends.items())],
            "run_dir": str(run_dir), "bag": str(run_dir / "bag") if recorded else None}


def _measure(metrics, bridge) -> None:
    """Separation and geofence from every vehicle's estimate (the whole fleet, in roster order)."""
    metrics.update(bridge.t, np.array([b.state().position for b in bridge.backends]))


def _mission_loop(mission, backends, bridge, metrics, interrupts, console, spin) -> str:
    """Until the mission's end: measure, watch links, show the table (live on a terminal, every
    5 s in a log)."""
    table = lambda: status_table(mission, backends, bridge, mission.phases.at(bridge.t))   # noqa: E731
    live = Live(table(), console=console, refresh_per_second=4) if console.is_terminal else None
    last_print = -math.inf
    try:
        if live:
            live.start()
        while bridge.t < mission.duration:
            spin(0.05)
            _measure(metrics, bridge)
            if interrupts.count:
                return "interrupted"
            lost = [n for n, b in backends.items() if not b.state().connected]
            if lost:
                raise LinkError(f"link lost to {', '.join(lost)}")
            if live:
                live.update(table())
            elif bridge.t - last_print >= 5.0:
                last_print = bridge.t
                console.print(table())
        return "completed"
    finally:
        if live:
            live.stop()


def _first_line(err: BaseException) -> str:
    return next((line for line in str(err).splitlines() if line.strip()), "")


def _each(backends, console, what: str, command) -> None:
    """`command` to every vehicle; one that fails is reported and the rest still get theirs."""
    for name, b in backends.items():
        try:
            command(b)
        except Exception as err:  # that vehicle's own failsafe is what is left for it
            console.print(f"[red]error:[/] {name}: {what} failed: {type(err).__name__}: {_first_line(err)}", highlight=False)


def landing_time(phases, backend) -> float:
    """s to land from where the vehicle is: the mission's land duration, longer from high up, so the
    descent stays within both the mission's landing speed and the vehicle's descent limit."""
    height = float(np.nan_to_num(backend.state().position[2] - backend.start[2], nan=0.0))
    speed = min(phases.land_speed, backend.drone.vehicle.max_descent)
    return max(phases.land_duration, height / speed)


def _land_all(mission, backends, bridge, metrics, interrupts, console, spin) -> None:
    """Every vehicle lands through its own landing; a fault while landing one does not stop the others."""
    bridge.stop()
    if interrupts.count:
        console.print("[yellow]interrupted:[/] landing every vehicle (Ctrl-C again stops the motors)")
    durations = {n: landing_time(mission.phases, b) for n, b in backends.items()}
    _each(backends, console, "land", lambda b: b.land(durations[b.name]))
    deadline = time.monotonic() + max(durations.values(), default=0.0) + LAND_MARGIN
    stopped = interrupts.count > 1
    reachable = lambda: [n for n, b in backends.items() if b.state().connected]   # noqa: E731  (lost ones land on their own)
    while not set(reachable()) <= set(_landed(backends)) and time.monotonic() < deadline:
        try:
            spin(0.05)
        except Exception:         # the fault that ended the flight may recur in a callback: keep watching
            time.sleep(0.05)
        _measure(metrics, bridge)
        if interrupts.count > 1 and not stopped:
            stopped = True
            console.print("[red]second interrupt:[/] emergency stop")
            _each(backends, console, "emergency stop", lambda b: b.emergency_stop())
    _each(backends, console, "disarm", lambda b: b.disarm())
