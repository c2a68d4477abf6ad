"""CPU seconds a ROS run spends per simulated second, per process, over its running phase only.

On a shared machine the wall-clock real-time factor says as much about the neighbours as about
the run; the CPU seconds the run's processes use per simulated second do not: 2 cores give 2.0
core-seconds per wall second, so a run needing X can hold real time on 2 idle cores when X < 2.

A thread samples user + system CPU of this process and all its descendants every SAMPLE s (its own
CPU time not counted). The running phase is read from the simulator's log: its wall-clock stamps of "mission ... starts"
and "mission complete", so start-up (imports, discovery) and shutdown are not counted.
"""
from __future__ import annotations

import bisect
import re
import threading
import time
from pathlib import Path

import psutil

SAMPLE = 0.25  # s between samples
_STAMP = re.compile(r"\[(\d+\.\d+)\] \[[^\]]+\]: (.*)")


def _label(proc: psutil.Process) -> str:
    """A run's process by its module's last part: simulator, drone, recorder, swarm_view..."""
    try:
        cmd = proc.cmdline()
    except psutil.Error:
        return "?"
    if "-m" in cmd and cmd.index("-m") + 1 < len(cmd):
        label = cmd[cmd.index("-m") + 1].rsplit(".", 1)[-1]
        group = next((a[len("drones:="):] for a in cmd if a.startswith("drones:=[") and "," in a), None)
        if label == "drone" and group:      # one of several drone processes: its first and last drone
            names = group.strip("[]").split(",")
            return f"drone {names[0].strip(chr(39))}..{names[-1].strip(chr(39))}"
        return label
    if psutil.Process().cmdline() == cmd:
        return "?"                 # not yet executed
    return Path(cmd[0]).name if cmd else "?"


class CpuSampler:
    """`with CpuSampler() as cpu:` run; then `cpu.between(t0, t1)` -> {label: CPU s} (wall times)."""

    def __init__(self):
        self.me = psutil.Process()
        self.samples: list[tuple[float, dict[int, tuple[str, float]]]] = []
        self._stop = threading.Event()
        self._procs: dict[int, tuple[psutil.Process, str]] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "CpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            seen: dict[int, tuple[str, float]] = {}
            try:
                kids = self.me.children(recursive=True)
            except psutil.Error:
                kids = []
            for proc in [self.me, *kids]:
                if proc.pid not in self._procs or self._procs[proc.pid][1] == "?":
                    # a child's command line is its parent's until it executes: label it once it is not
                    label = "launcher" if proc.pid == self.me.pid else _label(proc)
                    self._procs[proc.pid] = (proc, label)
                proc, label = self._procs[proc.pid]
                try:
                    t = proc.cpu_times()
                    seen[proc.pid] = (label, t.user + t.system)
                except psutil.Error:
                    pass
            if self.me.pid in seen:          # not this sampler's own work
                seen[self.me.pid] = ("launcher", seen[self.me.pid][1] - time.thread_time())
            self.samples.append((now, {pid: v for pid, v in seen.items() if v[0] != "py-spy"}))
            self._stop.wait(SAMPLE)

    def _at(self, t: float) -> dict[int, tuple[str, float]]:
        times = [s[0] for s in self.samples]
        i = min(max(bisect.bisect_left(times, t), 0), len(self.samples) - 1)
        return self.samples[i][1]

    def between(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds each kind of process used between wall times t0 and t1 (summed over its processes)."""
        a, b = self._at(t0), self._at(t1)
        out: dict[str, float] = {}
        for pid, (label, cpu) in b.items():
            out[label] = out.get(label, 0.0) + cpu - a.get(pid, (label, 0.0))[1]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def running_phase(log_dir: Path) -> tuple[float, float] | None:
    """(start, end) wall times of the mission's ticks, from the simulator's log; None if absent."""
    start = end = None
    for log in sorted(Path(log_dir).glob("*simulator*.log")):
        for line in log.read_text(errors="replace").splitlines():
            m = _STAMP.search(line)
            if not m:
                continue
            if "mission" in m.group(2) and " starts" in m.group(2):
                start = float(m.group(1))
            elif m.group(2).startswith("mission complete"):
                end = float(m.group(1))
    return (start, end) if start is not None and end is not None else None
