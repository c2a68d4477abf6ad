"""Mission -> node specs, and the `swarm-ros launch` runner that starts them without ros2 launch.

`node_specs` is the single description of a mission's node graph: `launch/swarm.launch.py`
turns each spec into a launch_ros Node, the runner here into a child process with the same
executable, name, namespace and parameters.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

PACKAGE = "swarm_ros"
ISOLATION = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


@dataclass(frozen=True)
class NodeSpec:
    executable: str
    name: str | None                 # None: the process holds several nodes named in code
    namespace: str | None
    parameters: dict = field(default_factory=dict)
    remappings: tuple = ()
    required: bool = False           # the mission ends when this process ends
    package: str = PACKAGE
    module: str | None = None        # what `swarm-ros launch` runs with `python -m`; None: swarm_ros.nodes.<executable>
    label: str | None = None         # how logs and messages name a process of several nodes (a drone group)

    @property
    def where(self) -> str:
        """The process in one word for messages: executable, and its node or its label."""
        if self.name:
            return f"{self.executable} ({self.namespace or ''}/{self.name})"
        return f"{self.executable} ({self.label})" if self.label else self.executable

    def ros_arguments(self) -> list[str]:
        args = ["--ros-args"]
        if self.name:
            args += ["-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:={self.namespace}"]
        for src, dst in self.remappings:
            args += ["-r", f"{src}:={dst}"]
        return args + self.parameter_arguments()

    def parameter_arguments(self) -> list[str]:
        """`-p key:=value` for every parameter: both launchers pass them on the command line
        (launch_ros would otherwise write each node's parameters to a /tmp file it never deletes)."""
        args = []
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={_param_text(value)}"]
        return args


def _param_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_param_text(v) for v in value) + "]"
    if isinstance(value, str):
        # rcl reads values as YAML: quote strings, or names like `on` or paths with ` #` change
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def stamped_dir(parent: str | Path, name: str) -> Path:
    """<parent>/<name>_<time>/, to the millisecond: a new folder for each run."""
    now = datetime.now()
    return Path(parent) / f"{name}_{now:%Y%m%d_%H%M%S}_{now.microsecond // 1000:03d}"


def default_run_dir(mission) -> Path:
    """runs/<mission>_<time>/: the folder of one run (bag/, logs/, summary.json)."""
    return stamped_dir(mission.record.path, mission.name)


def fresh_run_dir(given: str | None, name: str, option: str, force: bool | None = None) -> Path:
    """The folder a command writes one run into: `given`, or a new runs/<name>_<time>/. A given
    folder that already holds files is refused (one line, before any work) unless `force` (None:
    the command has no --force)."""
    if given is None:
        return stamped_dir("runs", name)
    out = Path(given)
    if out.is_dir() and any(out.iterdir()) and not force:
        from .core.configfile import ConfigError
        raise ConfigError("command line", option, f"{out} exists and is not empty (a run is never overwritten)",
                          f"a new or empty folder, or no {option} (a new runs/{name}_<time>/)"
                          + (", or --force to write into it" if force is not None else ""))
    return out


def drone_groups(names: list[str], processes: int) -> list[list[str]]:
    """`names` in `processes` contiguous shares whose sizes differ by at most one, in fleet order."""
    if not 1 <= processes <= len(names):
        raise ValueError(f"{processes} drone processes for {len(names)} drones; allowed: 1 to {len(names)}")
    size, extra = divmod(len(names), processes)
    out, start = [], 0
    for g in range(processes):
        end = start + size + (g < extra)
        out.append(names[start:end])
        start = end
    return out


def drone_specs(mission, per_drone_processes: bool = False, lockstep: bool = False,
                processes: int | None = None) -> list[NodeSpec]:
    """The drone nodes, in simulation and on hardware alike: one process per drone
    (`per_drone_processes`), or the fleet in `processes` contiguous groups (None: one). Each group
    process evaluates its drones' controllers in one batch; several run in parallel on several
    cores, but each adds a DDS participant and its share of the messages (docs/guide/ros-cpu.md
    measures both), so one stays the default.
    `lockstep`: the simulator runs at speed 0 and the drones wait for each tick's messages."""
    common = {"mission_file": mission.file, **({"lockstep": True} if lockstep else {})}
    names = mission.fleet.names
    if per_drone_processes:
        return [NodeSpec("drone", "drone", f"/{n}", {**common, "drones": [n]}) for n in names]
    groups = drone_groups(names, 1 if processes is None else processes)
    if len(groups) == 1:
        return [NodeSpec("drone", None, None, {**common, "drones": names})]
    return [NodeSpec("drone", None, None, {**common, "drones": g}, label=f"drones_{k + 1}of{len(groups)}")
            for k, g in enumerate(groups)]


def several_drone_processes(specs) -> bool:
    """Whether the drone nodes run in several processes: then one of them may end (as a drone is
    lost on hardware) and the others fly on, under `swarm-ros launch` and `ros2 launch` alike."""
    return sum(s.executable == "drone" for s in specs) > 1


def node_specs(mission, *, per_drone_processes: bool = False, drone_processes: int | None = None,
               speed: float | None = None,
               bag_path: str | Path | None = None, record: bool | None = None,
               live: tuple[str, int] | None = None, lost_after: int | None = None,
               monitor: bool = False) -> list[NodeSpec]:
    """The processes that fly `mission` in simulation: simulator, drones, recorder, swarm view,
    and the node of each mission service its controllers need (control/plugin.py).
    `live`: (host, port) where the swarm view also serves the Foxglove live view.
    `monitor`: the caller reads the summary itself (swarm-ros launch), so the simulator waits for it."""
    mf = mission.file
    record = mission.record.enabled if record is None else record
    view = mission.view_rate > 0
    kinds = [k for k in mission.record.topics if view or k not in ("poses", "markers")]
    sim_params = {"mission_file": mf, "wait_recorder": record,
                  "odom_readers": 1 + int(record and "odom" in kinds),    # the drone, the recorder
                  "summary_readers": int(monitor) + int(record)}          # the caller, the recorder
    if speed is not None:
        sim_params["speed"] = float(speed)
    if lost_after is not None:
        sim_params["lost_after"] = int(lost_after)
    specs = [NodeSpec("simulator", "simulator", "/swarm", sim_params, required=True)]
    lockstep = (mission.speed if speed is None else speed) <= 0
    specs += drone_specs(mission, per_drone_processes, lockstep, drone_processes)
    if record:
        path = str(bag_path or default_run_dir(mission) / "bag")
        specs.append(NodeSpec("recorder", "recorder", "/swarm",
                              {"mission_file": mf, "bag_path": path, "topics": kinds}))
    if view:
        extra = {"live_host": live[0], "live_port": int(live[1])} if live else {}
        specs.append(NodeSpec("swarm_view", "swarm_view", "/swarm", {"mission_file": mf, **extra}))
    for use in mission.services.values():
        s = use.kind
        params = {"mission_file": mf, **s.node_parameters(use), **({"lockstep": True} if lockstep else {})}
        specs.append(NodeSpec(s.executable, s.name, "/swarm", params,
                              package=s.package, module=s.module))
    if mission.updates is not None:
        specs.append(NodeSpec("update_server", "update_server", "/swarm", {"mission_file": mf}))
    return specs


DDS_PROFILE = Path(__file__).resolve().parent / "dds_profile.xml"   # type propagation off (see the file)
# a run on one machine: also loopback-only UDP and a larger shared-memory segment (see the file)
LOOPBACK_DDS_PROFILE = DDS_PROFILE.with_name("dds_profile_loopback.xml")


def dds_profile(env) -> dict:
    """Our Fast DDS profile for processes of one machine whose environment names none of its own."""
    if env.get("FASTDDS_DEFAULT_PROFILES_FILE") or env.get("FASTRTPS_DEFAULT_PROFILES_FILE"):
        return {}
    return {"FASTDDS_DEFAULT_PROFILES_FILE": str(LOOPBACK_DDS_PROFILE)}


def ros_environment(domain_id: int | None = None) -> dict:
    """The environment every process of a run gets: loopback-only discovery, one domain, our
    DDS profile; and Python's fault handler, so that a crash in native code (DDS, compiled
    kernels) leaves each thread's Python stack in the process's log, not an empty log (and
    SIGUSR1 does so for a live process: ProcessGroup.dump_stacks)."""
    env = dict(os.environ, **ISOLATION, **dds_profile(os.environ), PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1",
               SWARM_ROS_STACKS_ON_USR1="1")
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    return env


@lru_cache(maxsize=None)
def _die_with_parent():
    """A preexec_fn (Linux) that makes the child get SIGTERM when the launcher dies, even by
    SIGKILL. libc is loaded here, in the parent: the child, forked from a process with threads,
    only calls the function, with no import or dlopen between fork and exec."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, signal.SIGTERM)        # 1 = PR_SET_PDEATHSIG
    return hook


class ProcessGroup:
    """Child processes of one run: started from specs, stopped by pid, logs in one folder."""

    def __init__(self, env: dict, log_dir: Path, hosts=None):
        self.env, self.log_dir = env, log_dir
        self.hosts = hosts               # a hosts.HostRun: each process starts on its own host
        self.procs: list[tuple[NodeSpec, subprocess.Popen, Path]] = []
        self.started: list[float] = []   # when each process of procs was started (monotonic s)

    def start(self, spec: NodeSpec, index: int, suffix: str = "") -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        label = spec.name if spec.name and spec.namespace in (None, "/swarm") else spec.label or \
            (spec.namespace or "/drones").strip("/").replace("/", "_") + (f"_{spec.name}" if spec.name else "")
        log = self.log_dir / f"{index:02d}_{label}{suffix}.log"
        cmd = [sys.executable, "-m", spec.module or f"{PACKAGE}.nodes.{spec.executable}", *spec.ros_arguments()]
        env = self.env
        if self.hosts is not None:
            drones_before = sum(s.executable == "drone" for s, _, _ in self.procs)
            cmd, env, _host = self.hosts.wrap(spec, cmd, env, drones_before)
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent())
        self.procs.append((spec, proc, log))
        self.started.append(time.monotonic())
        with open(self.log_dir / "pids.txt", "a") as pids:
            pids.write(f"{proc.pid} {log.name}\n")
        return proc

    def failed(self) -> list[tuple[NodeSpec, int, Path]]:
        """Processes that ended with a non-zero code."""
        return [(s, p.returncode, log) for s, p, log in self.procs if p.poll() not in (None, 0)]

    def dump_stacks(self) -> None:
        """Have every live process write its Python stacks to its log (SIGUSR1, see
        swarm_ros/__init__.py): before a failed run stops them, where each one was."""
        for _, p, _ in self.procs:
            if p.poll() is None:
                _signal(p, signal.SIGUSR1)
        time.sleep(0.5)

    def restart(self, k: int) -> subprocess.Popen:
        """Replace process k (one on this machine) with a fresh one of the same spec, its log
        beside the old one: the old one writes its stacks there first, then is killed."""
        spec, proc, _log = self.procs[k]
        _signal(proc, signal.SIGUSR1)
        time.sleep(0.3)
        proc.kill()
        proc.wait()
        new = self.start(spec, k, suffix="_restarted")
        self.procs[k] = self.procs.pop()
        self.started[k] = self.started.pop()
        return new

    def wait(self, proc: subprocess.Popen, timeout: float) -> bool:
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, grace: float = 5.0) -> None:
        """SIGINT every live child, then SIGTERM, then SIGKILL, each by its own pid. A second
        Ctrl-C meanwhile cannot cut this short."""
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._stop(grace)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _stop(self, grace: float) -> None:
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            live = [p for _, p, _ in self.procs if p.poll() is None]
            if not live:
                return
            for p in live:
                _signal(p, sig)
            deadline = time.monotonic() + wait
            for p in live:
                self.wait(p, max(0.0, deadline - time.monotonic()))


def _signal(proc: subprocess.Popen, sig: int) -> None:
    """Send `sig` to a child by its pid; one that has ended meanwhile is left alone."""
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
