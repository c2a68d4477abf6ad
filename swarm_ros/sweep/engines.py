"""Where sweep tasks run: Ray (a local one this command starts and stops, or an existing
cluster), or a local process pool when Ray is not installed. Both run a module-level function
of one plain argument and report a dead worker as an error, so the driver retries either way.

A local Ray stays on loopback: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes its node use 127.0.0.1
(by default it binds the machine's network address), and it gets no dashboard.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

INSTALL_HINT = "pip install ray (from a checkout: pip install '.[sweep]')"
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class ClusterUnreachable(Exception):
    """ray.init could not connect to the given address (one line: why)."""


class WorkerLost(Exception):
    """The process running a task died (killed, out of memory, node lost)."""


def _loopback_ray() -> None:
    """Keep a local Ray on 127.0.0.1. Ray reads the variable when it is first imported (the
    driver) and its node processes inherit it; where the driver imported Ray before, its copy of
    the setting is changed too."""
    os.environ.update(LOOPBACK)
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and getattr(constants, "ENABLE_RAY_CLUSTER", False):
        constants.ENABLE_RAY_CLUSTER = False


def _on_loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "localhost", "::1")


def have_ray() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class RayEngine:
    """Tasks as Ray remote calls, without Ray's own retries (the driver counts attempts)."""

    name = "ray"

    def __init__(self, address: str | None, workers: int):
        self.local = address is None
        if self.local or _on_loopback(address):     # a cluster on this machine's loopback too
            _loopback_ray()
        import ray
        self.ray = ray
        self.temp = None
        if self.local:
            # its session files (logs, sockets) in a folder of its own, removed when it stops;
            # short, as Ray's socket paths must fit the 107-byte limit
            self.temp = tempfile.mkdtemp(prefix="srray")
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     _temp_dir=self.temp)
            nodes = {n["NodeManagerAddress"] for n in ray.nodes()}
            if nodes != {"127.0.0.1"}:
                self.close()
                raise RuntimeError(f"the local Ray came up on {', '.join(sorted(nodes))}, not 127.0.0.1 only")
        else:
            # a busy head can fail to start the per-client server in time ("Starting Ray client
            # server failed"); a second try usually finds it, so three tries before giving up
            for attempt in range(3):
                try:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
                    break
                except (ConnectionError, RuntimeError) as err:
                    if attempt == 2:
                        raise ClusterUnreachable(f"cannot reach the Ray cluster at {address}: "
                                                 + (str(err).strip().splitlines() or [type(err).__name__])[-1]) \
                            from None
                    time.sleep(2.0)
        self.workers = workers if self.local else max(1, int(ray.cluster_resources().get("CPU", workers)))
        self._remote = {}

    def submit(self, fn, arg):
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self.ray.remote(max_retries=0, num_cpus=1)(fn)
        return remote.remote(arg)

    def wait(self, handles: list, timeout: float) -> list:
        done, _ = self.ray.wait(list(handles), num_returns=1, timeout=timeout)
        return done

    def result(self, handle):
        from ray.exceptions import RayTaskError, WorkerCrashedError
        try:
            return self.ray.get(handle)
        except WorkerCrashedError as err:
            raise WorkerLost(str(err).strip().splitlines()[0]) from None
        except RayTaskError as err:
            cause = err.cause if getattr(err, "cause", None) is not None else err
            raise cause from None
        except self.ray.exceptions.RayError as err:      # node died, object lost, ...
            raise WorkerLost(f"{type(err).__name__}: {str(err).strip().splitlines()[0]}") from None

    def map(self, fn, args: list) -> list:
        remote = self.ray.remote(max_retries=3, num_cpus=1)(fn)
        return self.ray.get([remote.remote(a) for a in args])

    def close(self) -> None:
        self.ray.shutdown()
        if self.temp:
            shutil.rmtree(self.temp, ignore_errors=True)


class PoolEngine:
    """A local process pool: the fallback without Ray. A dead worker breaks the whole pool, so
    every task then in flight is reported lost and the pool is started afresh."""

    name = "process pool"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers)
        self._pool_of = {}

    def submit(self, fn, arg):
        future = self.pool.submit(fn, arg)
        self._pool_of[future] = self.pool
        return future

    def wait(self, handles: list, timeout: float) -> list:
        done, _ = wait(list(handles), timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle):
        pool = self._pool_of.pop(handle, None)
        try:
            return handle.result()
        except BrokenProcessPool:
            if pool is self.pool:            # the first of its lost tasks replaces the broken pool
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = ProcessPoolExecutor(self.workers)
            raise WorkerLost("a worker process of the pool died") from None

    def map(self, fn, args: list) -> list:
        return list(self.pool.map(fn, args))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def open_engine(address: str | None, workers: int | None, allow_pool: bool = True):
    """Ray at `address` ("auto", "ray://host:port") or a local Ray; without Ray installed, a
    process pool when no address is given (else ImportError with the install hint)."""
    workers = workers or default_workers()
    if have_ray():
        return RayEngine(address, workers)
    if address is not None or not allow_pool:
        raise ImportError(f"Ray is not installed: {INSTALL_HINT}")
    return PoolEngine(workers)
