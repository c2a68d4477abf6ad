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


def _exists(p: Path, file: bool = False) -> bool:
    """Path.exists (or is_file) that says no, rather than raising, for a name the file system
    refuses (too long, ...): the loader then reports it in one line."""
    try:
        return p.is_file() if file else p.exists()
    except OSError:
        return False


def find_named(name_or_path: str, folder: Path, ext: str, what: str) -> Path:
    """A file given as a path, or by name (with or without `ext`) from an installed folder.

    A missing path with a suffix is returned as it is, for its reader to report; a bare name
    found nowhere is a one-line error that lists the installed names."""
    from .configfile import ConfigError, check_path_length, name_variants, one_of_installed
    check_path_length(name_or_path, what)
    p = Path(name_or_path)
    if _exists(p):
        return p
    if len(p.parts) == 1:
        for n in name_variants(name_or_path, ext):
            if _exists(folder / n, file=True):
                return folder / n
    if p.suffix:
        return p
    raise ConfigError(name_or_path, "", f"{what} not found (no such file, nor {folder / (p.name + ext)})",
                      f"a path to a {what}" + one_of_installed([folder], ext))


def find_mission(name_or_path: str) -> Path:
    """A mission given as a path, or by name from the installed config/missions."""
    return find_named(name_or_path, share_dir() / "config" / "missions", ".yaml", "mission file")


def find_world(name_or_path: str) -> Path:
    """A world file given as a path, or by name from the installed sim/worlds."""
    return find_named(name_or_path, share_dir() / "sim" / "worlds", ".yaml", "world file")


def find_policy(name_or_path: str) -> Path:
    """A policy file given as a path, or by name from the installed config/policies."""
    return find_named(name_or_path, share_dir() / "config" / "policies", ".safetensors", "policy file")
