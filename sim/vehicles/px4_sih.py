"""The real PX4 autopilot as a simulated vehicle: one PX4 SITL process with its SIH simulator per drone.

PX4 v1.16 built for SITL (`px4_sitl_default`) carries SIH, a headless physics model inside the
autopilot, so the flight stack a Pixhawk runs (commander, EKF2, controllers, failsafes, MAVLink)
flies here without Gazebo. Per drone: its own instance number (0-9: PX4's sockets, lock file
and UDP ports are machine-wide, so a number is claimed with a lock file under /tmp and skipped
while any other PX4 uses it), MAV_SYS_ID = the fleet's `sysid`, SIH's start position = the
drone's pad in the world (a latitude/longitude offset from SIH's default origin), and a working
folder for parameters and dataman. Flight logs are off unless asked for.

Links: PX4's offboard MAVLink instance sends to 127.0.0.1:14540+i and, once someone writes to it
(at 14580+i), answers that first address only, for good. So a drone's link is
udpin://127.0.0.1:14540+i: the backend listens where PX4 sends, and every later connection (a
dry run, then the flight) is the same partner. The GCS instance (to the shared port 14550) is not
used, so runs side by side do not compete for it. SIH's ground truth (HIL_STATE_QUATERNION, 25 Hz) arrives on
127.0.0.1:19410+i and is read here for collision metrics.
"""
from __future__ import annotations

import fcntl
import math
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

INSTANCES = range(10)                # run-sih ports: 14540+i must stay below the GCS port 14550
API_PORT, OFFBOARD_PORT, GCS_PORT, TRUTH_SEND_PORT, TRUTH_PORT = 14540, 14580, 18570, 19450, 19410
ORIGIN = (47.397742, 8.545594, 489.4)     # SIH's default start (SIH_LOC_LAT0/LON0/H0): the world's (0, 0, 0)
EARTH_RADIUS = 6_371_000.0
AIRFRAME, BASE_AIRFRAME = 10090, "10040_sihsim_quadx"   # ours: SIH quadrotor X with the fleet's MAV_SYS_ID
# ready: all checks pass, or all but the ground station (NAV_DLL_ACT > 0 waits for a GCS heartbeat)
READY_LINES = ("Ready for takeoff", "Preflight Fail: No connection to the ground control station")
BOOT_TIMEOUT = 60.0                  # s; PX4 is ready about 15 s after start on an idle machine
ENV_DIR = "PX4_SIH_DIR"
WHERE_TO_GET = ("build PX4-Autopilot v1.16 for SITL with SIH (make px4_sitl_default) and point --px4-dir or "
                f"${ENV_DIR} at a folder holding its bin/px4 and etc/ (https://docs.px4.io/main/en/sim_sih/)")


class Px4NotFound(RuntimeError):
    pass


def find_px4(path: str | os.PathLike | None = None) -> Path:
    """The PX4 SITL folder (bin/px4 and etc/): `path`, else $PX4_SIH_DIR, else shared/px4-sih next to
    this checkout (or next to a folder above it, for a worktree). Px4NotFound (one line saying where
    to get PX4) if it is not there."""
    where = Path(path or os.environ.get(ENV_DIR) or default_dir())
    if not ((where / "bin" / "px4").is_file() and (where / "etc" / "init.d-posix" / "rcS").is_file()):
        raise Px4NotFound(f"no PX4 SITL build at {where}: {WHERE_TO_GET}")
    return where


def default_dir() -> Path:
    repo = Path(__file__).resolve().parents[2]
    found = [up / "shared" / "px4-sih" for up in repo.parents if (up / "shared" / "px4-sih").is_dir()]
    return found[0] if found else repo.parent / "shared" / "px4-sih"


def world_to_geodetic(p) -> tuple[float, float, float]:
    """A world position (ENU m from the world's origin) as SIH's start latitude, longitude, altitude."""
    lat0, lon0, alt0 = ORIGIN
    lat = lat0 + math.degrees(p[1] / EARTH_RADIUS)
    lon = lon0 + math.degrees(p[0] / (EARTH_RADIUS * math.cos(math.radians(lat0))))
    return lat, lon, alt0 + p[2]


def geodetic_to_world(lat, lon, alt) -> np.ndarray:
    lat0, lon0, alt0 = ORIGIN
    return np.array([math.radians(lon - lon0) * EARTH_RADIUS * math.cos(math.radians(lat0)),
                     math.radians(lat - lat0) * EARTH_RADIUS, alt - alt0])


# --- instance numbers ----------------------------------------------------------------------------
def _port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _px4_holds(instance: int) -> bool:
    """Whether a PX4 process (ours or anyone's) runs as `instance`: PX4 keeps a POSIX lock on its lock file."""
    path = Path(f"/tmp/px4_lock-{instance}")
    if not path.exists():
        return False
    try:
        with open(path, "r+") as f:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f, fcntl.LOCK_UN)
        return False
    except OSError:
        return True


def claim_instance(skip=()) -> tuple[int, object]:
    """A free PX4 instance number and the open lock file that holds it (closing it frees the number).
    The lock is flock on /tmp/swarm_ros-px4-<i>.lock, so parallel runs never take the same number."""
    for i in INSTANCES:
        if i in skip:
            continue
        f = open(f"/tmp/swarm_ros-px4-{i}.lock", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        if not _px4_holds(i) and all(_port_free(p + i) for p in (API_PORT, OFFBOARD_PORT, GCS_PORT, TRUTH_SEND_PORT, TRUTH_PORT)):
            return i, f
        f.close()
    raise RuntimeError(f"all {len(INSTANCES)} PX4 instance numbers are in use on this machine")


# --- one PX4 ---------------------------------------------------------------------------------------
def _shadow(dist: Path, into: Path) -> Path:
    """A private copy of the PX4 folder made of links: bin/px4-<module> point at px4 (a build copied
    without its symlinks holds text files there), and our airframe joins PX4's airframes."""
    shutil.rmtree(into, ignore_errors=True)
    (into / "bin").mkdir(parents=True)
    for f in (dist / "bin").iterdir():
        target = "px4" if f.name.startswith("px4-") and f.name != "px4-alias.sh" else f.resolve()
        (into / "bin" / f.name).symlink_to(target)
    posix = into / "etc" / "init.d-posix"
    (posix / "airframes").mkdir(parents=True)
    for f in (dist / "etc").iterdir():
        if f.name != "init.d-posix":
            (into / "etc" / f.name).symlink_to(f.resolve())
    for f in (dist / "etc" / "init.d-posix").iterdir():
        if f.name != "airframes":
            (posix / f.name).symlink_to(f.resolve())
    for f in (dist / "etc" / "init.d-posix" / "airframes").iterdir():
        (posix / "airframes" / f.name).symlink_to(f.resolve())
    # PX4's rcS sets MAV_SYS_ID = instance + 1 after the PX4_PARAM_* overrides; an airframe runs later
    (posix / "airframes" / f"{AIRFRAME}_swarm_sihsim_quadx").write_text(
        "#!/bin/sh\n# @name SIH quadrotor X with the MAVLink system id of the fleet file\n"
        f". ${{R}}etc/init.d-posix/airframes/{BASE_AIRFRAME}\n"
        "param set MAV_SYS_ID ${SWARM_MAV_SYS_ID}\n")
    return into


@dataclass
class Px4Sih:
    """One PX4 SITL + SIH process."""
    dist: Path
    workdir: Path
    sysid: int
    start: tuple = (0.0, 0.0, 0.0)      # world position of its pad (ENU m)
    params: dict = field(default_factory=dict)
    flight_log: bool = False
    instance: int = -1
    proc: subprocess.Popen | None = None
    _lock: object = None

    @property
    def uri(self) -> str:
        return f"udpin://127.0.0.1:{API_PORT + self.instance}"

    @property
    def truth_port(self) -> int:
        return TRUTH_PORT + self.instance

    @property
    def log(self) -> Path:
        return self.workdir / "px4.log"

    def start_process(self, skip=()) -> "Px4Sih":
        self.instance, self._lock = claim_instance(skip)
        self.workdir = Path(self.workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for stale in ("parameters.bson", "parameters_backup.bson", "dataman"):
            (self.workdir / stale).unlink(missing_ok=True)
        root = _shadow(Path(self.dist).resolve(), self.workdir / "px4-dist")
        lat, lon, alt = world_to_geodetic(self.start)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PX4_")}
        env.update(PX4_SYS_AUTOSTART=str(AIRFRAME), PX4_SIMULATOR="sihsim", PX4_SIM_MODEL="sihsim_quadx",
                   PX4_HOME_LAT=f"{lat:.9f}", PX4_HOME_LON=f"{lon:.9f}", PX4_HOME_ALT=f"{alt:.3f}",
                   SWARM_MAV_SYS_ID=str(self.sysid), ROS_DOMAIN_ID="0")
        params = {"SDLOG_MODE": 1 if self.flight_log else -1, **self.params}
        env.update({f"PX4_PARAM_{k}": str(v) for k, v in params.items()})
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(root / "bin" / "px4"), "-d", "-i", str(self.instance), "-w",
                                          str(self.workdir), str(root / "etc")], cwd=self.workdir, env=env,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        return self

    def ready(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] if self.log.exists() else []
            raise RuntimeError(f"PX4 instance {self.instance} (sysid {self.sysid}) exited"
                               + (f": {tail[0]}" if tail else "") + f"; log {self.log}")
        text = self.log.read_text(errors="replace")
        return any(line in text for line in READY_LINES)

    def stop(self, remove: bool = False) -> None:
        """SIGTERM to our px4 by pid (SIGKILL after 5 s), free the instance number, optionally delete
        the working folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5.0)
        if self.instance >= 0 and self.proc is not None:
            for stale in (f"/tmp/px4-sock-{self.instance}",):   # left behind when px4 was killed
                if not _px4_holds(self.instance):
                    Path(stale).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)


class GroundTruth:
    """SIH's true state of each PX4 (HIL_STATE_QUATERNION on its truth port) in the world frame."""

    def __init__(self, ports: dict[str, int]):
        from pymavlink.dialects.v20 import common as mav
        self.names = list(ports)
        self.position = np.full((len(ports), 3), np.nan)
        self.velocity = np.zeros((len(ports), 3))
        self.yaw = np.zeros(len(ports))              # rad, from north towards east (NED heading)
        self.stamp = np.zeros(len(ports))
        self.lock = threading.Lock()
        self._socks = []
        for port in ports.values():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", port))
            s.settimeout(0.1)
            self._socks.append(s)
        self._parsers = [mav.MAVLink(None) for _ in self._socks]
        for p in self._parsers:
            p.robust_parsing = True
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True, name=f"sih-truth-{k}")
                         for k in range(len(self._socks))]
        for t in self._threads:
            t.start()

    def _run(self, k: int) -> None:
        while not self._stop.is_set():
            try:
                data = self._socks[k].recv(2048)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            for msg in self._parsers[k].parse_buffer(data) or []:
                if msg.get_type() == "HIL_STATE_QUATERNION":
                    p = geodetic_to_world(msg.lat / 1e7, msg.lon / 1e7, msg.alt / 1000.0)
                    w, x, y, z = msg.attitude_quaternion
                    with self.lock:
                        self.position[k] = p
                        self.velocity[k] = (msg.vy / 100.0, msg.vx / 100.0, -msg.vz / 100.0)   # NED cm/s -> ENU m/s
                        self.yaw[k] = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
                        self.stamp[k] = time.monotonic()

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            return self.position.copy(), self.velocity.copy()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(1.0)
        for s in self._socks:
            s.close()


class Px4SihFleet:
    """One PX4 per PX4 drone of a fleet, started together, with their ground truth."""

    def __init__(self, drones, run_dir: Path, dist: Path | None = None, params: dict | None = None,
                 flight_log: bool = False, per_drone_params: dict | None = None):
        self.dist = find_px4(dist)
        self.run_dir = Path(run_dir).resolve()
        per_drone_params = per_drone_params or {}
        self.vehicles = {d.name: Px4Sih(self.dist, self.run_dir / f"px4_{d.name}", d.sysid, tuple(d.start),
                                        {**(params or {}), **per_drone_params.get(d.name, {})}, flight_log)
                         for d in drones}
        self.truth: GroundTruth | None = None

    def start(self, timeout: float = BOOT_TIMEOUT) -> "Px4SihFleet":
        """Start every PX4 and wait until each says it is ready for take-off."""
        try:
            taken: list[int] = []
            for v in self.vehicles.values():
                v.start_process(skip=taken)
                taken.append(v.instance)
            self.truth = GroundTruth({n: v.truth_port for n, v in self.vehicles.items()})
            deadline = time.monotonic() + timeout
            while not all(v.ready() for v in self.vehicles.values()):
                if time.monotonic() > deadline:
                    late = [n for n, v in self.vehicles.items() if not v.ready()]
                    raise RuntimeError(f"PX4 not ready within {timeout:g} s for {', '.join(late)}; logs in {self.run_dir}")
                time.sleep(0.25)
        except BaseException:
            self.stop()
            raise
        return self

    def links(self) -> dict[str, str]:
        return {n: v.uri for n, v in self.vehicles.items()}

    def stop(self, remove: bool = False) -> None:
        if self.truth is not None:
            self.truth.close()            # its last sample stays readable
        for v in self.vehicles.values():
            v.stop(remove)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
