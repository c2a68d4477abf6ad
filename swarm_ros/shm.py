"""The Fast DDS shared-memory files of a run's own processes, and their removal afterwards.

Fast DDS keeps its shared-memory transport in /dev/shm (segments, port queues, their locks
and semaphores); a process that is killed leaves its files behind, and they pile up over many
runs. A run notes which of these files its processes have mapped or open while they live
(from /proc/<pid>/maps and /proc/<pid>/fd), and at the end removes those that no live process
on the machine still uses, so a segment shared with someone else's participant is never removed.
"""
from __future__ import annotations

import os
from pathlib import Path

SHM = Path("/dev/shm")
PREFIXES = ("fastdds_", "fastrtps_", "sem.fastdds_", "sem.fastrtps_")


def _ours(name: str) -> bool:
    return name.startswith(PREFIXES)


def files_of(pid: int) -> set[str]:
    """Names of the Fast DDS files in /dev/shm that process `pid` maps or holds open."""
    names: set[str] = set()
    proc = Path("/proc") / str(pid)
    try:
        for line in (proc / "maps").read_text(errors="replace").splitlines():
            fields = line.split(maxsplit=5)
            path = fields[5] if len(fields) == 6 else ""
            if path.startswith("/dev/shm/"):
                names.add(path[len("/dev/shm/"):].split(" ")[0])
        for fd in (proc / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("/dev/shm/"):
                names.add(target[len("/dev/shm/"):].split(" ")[0])
    except OSError:
        pass                       # the process ended meanwhile, or is not ours to read
    return {n for n in names if _ours(n)}


def in_use() -> set[str]:
    """Fast DDS files any live process on the machine (that we may inspect) maps or holds open."""
    used: set[str] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            used |= files_of(int(entry.name))
    return used


def shared_by_domains(name: str, domain: int) -> bool:
    """Whether `name` is a port file outside `domain`'s own ports (7400 + 250 d .. + 249): with
    localhost discovery Fast DDS also opens ports that participants of every domain on the
    machine share (7000 and up), so another run's processes may hold or release them at any time."""
    base = name.removeprefix("sem.").removesuffix("_mutex").removesuffix("_el").removesuffix("_sl")
    for prefix in ("fastdds_port", "fastrtps_port"):
        if base.startswith(prefix) and base[len(prefix):].isdigit():
            port = int(base[len(prefix):])
            return not 7400 + 250 * domain <= port < 7650 + 250 * domain
    return False


def with_companions(names: set[str]) -> set[str]:
    """The files that belong with each noted one: a segment's lock file (`_el`), a port's
    semaphore (`sem.<port>_mutex`) and its locks (`_el`, `_sl`)."""
    out = set(names)
    for n in names:
        if n.startswith(("fastdds_", "fastrtps_")) and not n.endswith(("_el", "_sl")):
            out |= {n + "_el", n + "_sl", f"sem.{n}_mutex"}
    return out


def remove_unused(names: set[str], domain: int | None = None) -> list[str]:
    """Remove the noted files no live process uses; the names removed. With `domain`, the port
    files every domain shares are left alone: a participant of another run may be opening one
    at this moment (unused an instant ago). They are a fixed few, so they do not pile up."""
    busy = in_use()
    removed = []
    for name in sorted(with_companions(names) - busy):
        if domain is not None and shared_by_domains(name, domain):
            continue
        if name.endswith(("_el", "_sl")) and name[:-3] in busy:
            continue               # the lock of a segment someone still uses
        try:
            (SHM / name).unlink()
            removed.append(name)
        except FileNotFoundError:
            pass
        except OSError:
            pass                   # not ours to remove
    return removed
