"""The `swarm-ros` command: one module per sub-command, named after it.

Each module has `add_parser(sub)`, which registers its arguments and sets `func(args, console)`.
Modules import their heavy dependencies inside the command functions, so `swarm-ros --help`
stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import signal
import sys

from .. import __version__

# sub-command modules, in the order `swarm-ros --help` lists them
COMMANDS = ("launch", "check", "headless", "cao", "fisc", "plan", "policy", "analyze", "patch", "swarmsync",
            "deploy", "vehicles", "export_gazebo", "bag", "sweep")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swarm-ros", description="Fly, check, analyse and update drone swarms "
                                     "on ROS 2 (simulation and Crazyflie / PX4 hardware).")
    parser.add_argument("--version", action="version", version=f"swarm-ros {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console
    from ..core.configfile import ConfigError
    # Logs and pipes get a fixed width wide enough for the summary table.
    console = Console(width=None if sys.stdout.isatty() else 120)
    # SIGTERM stops a run as Ctrl-C does, so child processes are always cleaned up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return args.func(args, console)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
