"""`swarm-ros launch`: start a mission's node graph, show progress, print the summary.

The runner is a launcher plus a small monitor node: it starts every NodeSpec as its own
process (isolated to loopback and one ROS domain), follows /swarm/status for the progress
display, and ends when the simulator publishes /swarm/summary and exits. Each run gets a
folder: runs/<mission>_<time>/ with bag/ (rosbag2), logs/ (one per process), summary.json.
It also keeps the run honest: it announces the run on its domain and refuses to fly beside
another (run_guard.py), prints the faults the simulator announces on /swarm/events, adds the
losses of drones and of recorded data to the summary, and at the end removes the Fast DDS
shared-memory files its own processes left (shm.py).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .launching import ISOLATION, ProcessGroup, default_run_dir, log_tail, node_specs, ros_environment, several_drone_processes
from .report import cell, summary_table
from . import shm
from .stuck_start import StuckStart

RECORDER_CLOSE_TIMEOUT = 20.0   # s to wait for the recorder to close the bag after the summary
SHM_NOTE_EVERY = 2.0            # s between notes of the shared-memory files the run's processes use
SIMULATOR_SILENT = 30.0         # s without a status from a live simulator, once the mission runs, before
                                # the run fails (it sends one every 0.2 s, waiting or not): hung


class RunError(RuntimeError):
    exit_code = 1


class RunConflict(RunError):
    """Another mission is live on the run's domain (a usage error: exit code 2)."""
    exit_code = 2


def bag_losses(bag_path: Path, ticks: int | None = None) -> dict[str, int]:
    """{topic: messages missing}: the ticks flown less the odometry the recorder wrote, from the
    bag's metadata; without `ticks` (or a bag from before that count), what the recorder counted."""
    import yaml
    try:
        meta = yaml.safe_load((bag_path / "metadata.yaml").read_text())
        custom = meta["rosbag2_bagfile_information"]["custom_data"]
        written = json.loads(custom.get("swarm_ros.odom_written", "null"))
        if ticks is not None and isinstance(written, dict):
            lost = {t: ticks - int(n) for t, n in written.items()}
        else:
            lost = json.loads(custom["swarm_ros.lost"])
    except (OSError, KeyError, TypeError, ValueError, AttributeError, yaml.YAMLError):
        return {}
    return {str(t): int(n) for t, n in lost.items() if int(n) > 0} if isinstance(lost, dict) else {}


def run_mission(mission, *, speed: float | None = None, per_drone_processes: bool = False,
                drone_processes: int | None = None,
                run_dir: Path | None = None, record: bool | None = None, domain_id: int | None = None,
                console: Console | None = None, live: tuple[str, int] | None = None,
                lost_after: int | None = None, hosts=None) -> dict:
    """Fly `mission` through ROS 2 and return its summary (with bag and log paths).
    `drone_processes`: the fleet's drone nodes in this many processes (None: the default).
    `live`: (host, port) where the swarm view node serves the Foxglove live view.
    `hosts`: a hosts.HostRun: every process on its host of a made network (docs/guide/hosts.md)."""
    console = console or Console()
    record = mission.record.enabled if record is None else record
    run_dir = Path(run_dir) if run_dir else default_run_dir(mission)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunError(f"run folder {run_dir} exists and is not empty; choose another with --run-dir")
    bag_path = run_dir / "bag"
    specs = node_specs(mission, per_drone_processes=per_drone_processes, drone_processes=drone_processes,
                       speed=speed, bag_path=bag_path,
                       record=record, live=live, lost_after=lost_after, monitor=True)
    if domain_id is None:
        domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0"))
    env = ros_environment(domain_id)
    os.environ.update(ISOLATION)   # the monitor node below runs in this process
    saved_env = dict(os.environ)
    if hosts is not None:
        hosts.start(env, run_dir / "logs")
        try:
            os.environ.update(hosts.enter_ground())    # the monitor joins from the ground host
        except BaseException:
            hosts.close()
            raise
    group = ProcessGroup(env, run_dir / "logs", hosts)

    import rclpy
    import rclpy.task
    from rclpy.experimental import EventsExecutor
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String
    from swarm_ros_interfaces.msg import SwarmStatus, SwarmSummary
    from . import topics
    from .run_guard import Conflict, RunGuard
    from .nodes.reports import status_dict, summary_dict
    from .nodes.runtime import qos
    from .nodes.service_link import link_of

    context = rclpy.Context()
    try:
        rclpy.init(context=context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
        node = rclpy.create_node("swarm_ros_launch", context=context, start_parameter_services=False,
                                 enable_rosout=False)
    except BaseException:
        _close_hosts(hosts, saved_env)
        raise
    latest: dict = {}
    monitored: dict[str, list[dict]] = {}    # what each mission service published on its monitor topic
    node.create_subscription(SwarmStatus, topics.STATUS,
                             lambda m: latest.update(status=status_dict(m), status_at=time.monotonic()),
                             qos(topics.STATUS))
    for name, use in mission.services.items():
        if use.kind.monitor:
            seen = monitored.setdefault(name, [])
            link = link_of(use.kind)
            node.create_subscription(link.monitor_type, use.kind.monitor,
                                     lambda m, seen=seen, read=link.monitor_dict: seen.append(read(m)),
                                     qos(use.kind.monitor))
    node.create_subscription(SwarmSummary, topics.SUMMARY, lambda m: latest.update(summary=summary_dict(m)),
                             qos(topics.SUMMARY))
    events: list[dict] = []
    node.create_subscription(String, topics.EVENTS, lambda m: events.append(_event(m.data)), qos(topics.EVENTS))
    executor = EventsExecutor(context=context)
    executor.add_node(node)
    guard = RunGuard(node, mission.name, run_dir, domain_id)

    console.print(f"[bold]swarm_ros[/] mission [cyan]{mission.name}[/]: {len(mission.fleet.drones)} drones, "
                  f"{mission.duration:g} s, ROS_DOMAIN_ID={domain_id}, run folder {run_dir}")
    if live:
        from .live_view import layout_file
        console.print(f"live view: open ws://{live[0]}:{live[1]} in Foxglove (layout: {layout_file()})",
                      highlight=False, soft_wrap=True)
    sim_proc = None
    progress = Progress(TextColumn("{task.fields[phase]:>8}"), BarColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=console, transient=False)
    task = progress.add_task("starting nodes", total=mission.duration, phase="start")
    interrupted = False
    lost: list[str] = []             # drone processes that ended during the mission
    tolerate_lost_drones = several_drone_processes(specs)
    lost_services: list[dict] = []   # mission services whose process ended during the mission
    shm_files: set[str] = set()      # Fast DDS shared-memory files the run's processes used
    try:
        guard.listen(lambda s: executor.spin_until_future_complete(rclpy.task.Future(), timeout_sec=s))
        guard.check(started=False)
        guard.announce()
        shm_noted = time.monotonic()
        for k, spec in enumerate(specs):
            proc = group.start(spec, k)
            if spec.required:
                sim_proc = proc
        last_line = -1
        stuck = StuckStart(node, group)
        with progress:
            while "summary" not in latest or sim_proc.poll() is None:
                executor.spin_until_future_complete(rclpy.task.Future(), timeout_sec=0.1)
                if "status" not in latest:           # the mission has not started
                    for line in stuck.check():
                        console.print(f"[yellow]warning:[/] {line}")
                        sim_proc = next(proc for spec, proc, _log in group.procs if spec.required)
                warning = guard.check(started=True)
                if warning:
                    console.print(f"[yellow]warning:[/] {warning}")
                while events:
                    console.print(f"[yellow]{events.pop(0).get('text', '')}[/]")
                if time.monotonic() - shm_noted > SHM_NOTE_EVERY:
                    shm_noted = time.monotonic()
                    shm_files |= _shm_files(group)
                for spec, code, log in group.failed():
                    where = spec.where
                    if _service_lost(spec, mission, latest, lost_services, code):
                        # Services are not in the tick barrier: the drones fly on with their last answers.
                        console.print(f"[yellow]warning:[/] the {spec.name} service exited with code {code} at "
                                      f"t={lost_services[-1]['t']:.1f} s; the mission goes on without it (log {log})")
                        continue
                    if any(e["name"] == spec.name for e in lost_services):
                        continue
                    if spec.executable != "drone" or not tolerate_lost_drones:
                        group.dump_stacks()
                        raise RunError(f"{where} exited with code {code}; its log {log} ends:\n{log_tail(log)}\n"
                                       f"(the stacks of the processes still running are in their logs)")
                    if where not in lost:
                        # One drone of many lost (as on hardware): the swarm flies on without it;
                        # the simulator holds the silent vehicle in a hover.
                        lost.append(where)
                        console.print(f"[yellow]warning:[/] {where} exited with code {code}; "
                                      f"the mission goes on without it (log {log})")
                if sim_proc.poll() is not None and "summary" not in latest:
                    executor.spin_until_future_complete(rclpy.task.Future(), timeout_sec=1.0)
                    if "summary" not in latest:
                        raise RunError("the simulator ended without a summary")
                if "status" in latest and "summary" not in latest and \
                        time.monotonic() - latest["status_at"] > SIMULATOR_SILENT:
                    group.dump_stacks()
                    raise RunError(f"the simulator has sent no status for {SIMULATOR_SILENT:g} s but still runs (hung?); "
                                   f"the stacks of the processes still running are in their logs ({run_dir / 'logs'})")
                s = latest.get("status")
                if s and hosts is not None:
                    for line in hosts.apply(s["t"]):
                        console.print(f"[yellow]{line}[/]")
                if s:
                    more = "".join(mission.services[n].kind.progress(seen) for n, seen in monitored.items())
                    progress.update(task, completed=s["t"], phase=s["phase"], description=(
                        f"t {s['t']:5.1f}/{s['duration']:g} s  collisions {s['collisions']}  "
                        f"min sep {cell(s['min_separation'], '{:.2f} m')}  x{s['rtf']:.2f} real time{more}"))
                    decile = int(10 * s["t"] / s["duration"])
                    if not console.is_terminal and decile != last_line:
                        last_line = decile
                        console.print(f"  {s['phase']:>7} t={s['t']:.1f}/{s['duration']:g} s "
                                      f"collisions={s['collisions']} min_sep={cell(s['min_separation'], '{:.2f} m')}")
            progress.update(task, completed=mission.duration, phase="done")
        shm_files |= _shm_files(group)
        for spec, proc, _log in group.procs:
            if spec.executable == "recorder":
                group.wait(proc, RECORDER_CLOSE_TIMEOUT)
    except KeyboardInterrupt:
        interrupted = True
    except Conflict as err:
        raise RunConflict(str(err)) from None
    finally:
        shm_files |= _shm_files(group)
        group.stop()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        if group.procs:
            _write_lines(run_dir / "logs" / "shm_removed.txt", shm.remove_unused(shm_files, domain_id))
        hosts_summary = hosts.summary() if hosts is not None else None
        _close_hosts(hosts, saved_env)
    if interrupted:
        raise RunError("interrupted; all processes stopped")
    summary = latest["summary"]
    summary["run_dir"] = str(run_dir)
    summary["bag"] = str(bag_path) if record else None
    summary["processes"] = len(specs)
    summary["lost_processes"] = lost
    summary.setdefault("lost", [])
    summary["lost_services"] = lost_services
    if hosts_summary is not None:
        summary["hosts"] = hosts_summary
    for name, seen in monitored.items():
        use = mission.services[name]
        summary.update(use.kind.summarize(use, seen))
    recorder_failed = [s for s, code, _ in group.failed() if s.executable == "recorder"]
    if record and (recorder_failed or not (bag_path / "metadata.yaml").is_file()):
        raise RunError(f"the recorder did not close the bag {bag_path}; see {run_dir / 'logs'}")
    summary["data_lost"] = bag_losses(bag_path, summary.get("ticks")) if record else {}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    console.print(summary_table(summary))
    return summary


def _close_hosts(hosts, saved_env: dict) -> None:
    """Back to the launcher's own network, environment as before, every made host removed."""
    if hosts is not None:
        hosts.close()
        os.environ.clear()
        os.environ.update(saved_env)


def _service_lost(spec, mission, latest: dict, lost_services: list, code: int) -> bool:
    """Note a mission service whose process ended once the mission flies (before, the simulator
    waits for it and the run stops); True the first time."""
    if spec.namespace != "/swarm" or spec.name not in mission.services or "status" not in latest:
        return False
    if any(e["name"] == spec.name for e in lost_services):
        return False
    lost_services.append({"name": spec.name, "t": round(float(latest["status"]["t"]), 3), "code": code})
    return True


def _event(text: str) -> dict:
    try:
        event = json.loads(text)
    except ValueError:
        return {"text": text}
    return event if isinstance(event, dict) else {"text": text}


def _shm_files(group: ProcessGroup) -> set[str]:
    """The Fast DDS shared-memory files the run's live processes (and this one) use now."""
    pids = [p.pid for _, p, _ in group.procs if p.poll() is None] + [os.getpid()]
    return set().union(*(shm.files_of(pid) for pid in pids))


def _write_lines(path: Path, lines: list[str]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines))
    except OSError:
        pass
