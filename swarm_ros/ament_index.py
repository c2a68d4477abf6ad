"""Make this install findable by `ros2 launch` / `ros2 run`, and print the AMENT_PREFIX_PATH to use.

launch_ros finds a package through the ament index: <prefix>/share/ament_index/resource_index/
packages/swarm_ros, launch files under <prefix>/share/swarm_ros, executables in <prefix>/lib/swarm_ros.
`pip install .` installs all of that (setup.py); `pip install -e .` installs no data files, so for
an editable install this registers the checkout in the environment's prefix (links to its launch/
and config/, and the executable launchers). colcon installs need none of this.

    export AMENT_PREFIX_PATH=$(python -m swarm_ros.ament_index)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from swarm_ros.nodes import NODE_EXECUTABLES

PACKAGE = "swarm_ros"
EXECUTABLES = (*NODE_EXECUTABLES, "swarm-ros")


def launcher(exe: str) -> str:
    """A script for <prefix>/lib/swarm_ros/<exe> that runs the console script pip put in <prefix>/bin."""
    return (f'#!/bin/sh\n# {PACKAGE} {exe}: the console script pip installed in <prefix>/bin\n'
            f'exec "$(dirname "$0")/../../bin/{exe}" "$@"\n')


def write_launchers(prefix: Path, skip_existing: bool = True) -> list[Path]:
    lib = Path(prefix) / "lib" / PACKAGE
    lib.mkdir(parents=True, exist_ok=True)
    written = []
    for exe in EXECUTABLES:
        target = lib / exe
        if target.exists() and skip_existing:
            continue
        target.write_text(launcher(exe))
        target.chmod(0o755)
        written.append(target)
    return written


def register_checkout(prefix: Path, checkout: Path) -> None:
    """The ament index entry, share/swarm_ros (links into the checkout) and the launchers.

    Launch files are linked one by one: `ros2 launch` looks for them without following links to
    folders. Run again after adding a launch file.
    """
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True, exist_ok=True)
    (index / PACKAGE).touch()
    share = prefix / "share" / PACKAGE
    (share / "launch").mkdir(parents=True, exist_ok=True)
    links = {share / "package.xml": checkout / "package.xml", share / "config": checkout / "config"}
    links.update({share / "launch" / f.name: f for f in (checkout / "launch").glob("*.py")})
    for link, target in links.items():
        if link.is_symlink() and link.resolve() != target.resolve():
            link.unlink()
        if not link.is_symlink() and not link.exists():
            link.symlink_to(target)
    write_launchers(prefix)


def prefix_path(prefix: Path, current: str = "") -> str:
    """AMENT_PREFIX_PATH with `prefix` first, each entry once."""
    entries = [str(prefix)] + [p for p in current.split(os.pathsep) if p and Path(p) != Path(prefix)]
    return os.pathsep.join(entries)


def main() -> int:
    prefix = Path(sys.prefix)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "launch" / "swarm.launch.py").is_file():     # imported from a checkout: editable
        try:
            register_checkout(prefix, checkout)
        except OSError as err:
            print(f"error: cannot register {checkout} in the ament index of {prefix}: {err}", file=sys.stderr)
            return 1
    elif not (prefix / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE).is_file():
        print(f"error: {PACKAGE} is not in the ament index of {prefix}: install it with pip into this "
              "environment (or build it with colcon and source install/setup.bash)", file=sys.stderr)
        return 1
    print(prefix_path(prefix, os.environ.get("AMENT_PREFIX_PATH", "")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
