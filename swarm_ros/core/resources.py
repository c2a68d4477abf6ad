"""Where the package's data (config/, sim/worlds, launch/) lives: a source checkout or an install."""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = "swarm_ros"


@lru_cache(maxsize=1)
def share_dir() -> Path:
    """The directory that holds config/ and sim/ for this installation."""
    package = Path(__file__).resolve().parent.parent      # swarm_ros/ (this file is in swarm_ros/core/)
    checkout = package.parent
    if (checkout / "config" / "missions").is_dir():
        return checkout
    # An install puts the package in <prefix>/lib/pythonX.Y/site-packages (pip, colcon) or
    # <prefix>/lib/python3/dist-packages (Debian) and the data in <prefix>/share/swarm_ros:
    # look beside the package first, so `pip install --user/--prefix` and colcon installs work.
    for prefix in (*package.parents[2:4], Path(sys.prefix)):
        installed = prefix / "share" / PACKAGE
        if (installed / "config" / "missions").is_dir():
            return installed
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except Exception:  # no ament index either: fall back to the checkout layout
        return checkout


def _exists(p: Path) -> bool:
    """Path.exists that says no (rather than raising) for a name the file system refuses
    (too long, ...): the loader then reports it in one line."""
    try:
        return p.exists()
    except OSError:
        return False


def find_mission(name_or_path: str) -> Path:
    """A mission given as a path, or by name from the installed config/missions."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or _exists(p):
        return p
    return share_dir() / "config" / "missions" / f"{name_or_path}.yaml"


def find_world(name_or_path: str) -> Path:
    """A world file given as a path, or by name from the installed sim/worlds."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or _exists(p):
        return p
    return share_dir() / "sim" / "worlds" / f"{name_or_path}.yaml"
