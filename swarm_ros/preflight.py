"""What `launch` needs beyond a valid mission file, checked before anything starts (and by `check`).

A mission can be valid and still not launchable from here: its run folder may lie on a read-only
file system, under /proc, or be an existing file. Each such case is one ConfigError line, so
`check` and `launch` refuse it with exit code 2 instead of a traceback once processes run.
Writability is tested by creating (and removing) an empty temporary folder where the run folder
would be made: permission bits alone do not tell (root, read-only mounts, /proc).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .core.configfile import ConfigError


def folder_problem(path: Path) -> str:
    """Why a folder cannot be created or written at `path` ("" when it can)."""
    path = Path(os.path.abspath(path))
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return f"no existing folder above {path}"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} exists and is not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".swarm_ros_probe_", dir=probe))
    except OSError as err:
        return f"cannot create a folder in {probe} ({err.strerror or err})"
    return ""


def preflight(mission, run_dir: Path | None = None) -> None:
    """ConfigError for a run folder, record folder or update-state folder `launch` could not write."""
    if run_dir is not None:
        problem = folder_problem(run_dir)
        if problem:
            raise ConfigError(str(run_dir), "--run-dir", problem, "a folder that can be created and written")
    else:
        problem = folder_problem(Path(mission.record.path))
        if problem:
            raise ConfigError(mission.file, "record.path", f"{mission.record.path!r} (from {Path.cwd()}): {problem}",
                              "a folder for run folders that can be created and written (relative to the "
                              "current folder), or give --run-dir")
    if mission.updates is not None:
        problem = folder_problem(mission.updates.state)
        if problem:
            raise ConfigError(mission.file, "updates.state", problem,
                              "a folder for the drones' model slots that can be created and written")
