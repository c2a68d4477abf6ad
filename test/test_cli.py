"""The `swarm-ros` command as a package: one module per sub-command, light to import."""
import ast
import subprocess
import sys
from pathlib import Path

from swarm_ros import __version__
from swarm_ros.cli import COMMANDS, build_parser

CLI = Path(__file__).resolve().parent.parent / "swarm_ros" / "cli"
HEAVY = {"numpy", "scipy", "rich", "matplotlib", "rclpy", "pybullet", "casadi", "sim", "firmware_update"}


def test_each_command_has_its_own_module_named_after_it():
    modules = {p.stem for p in CLI.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(COMMANDS)
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {name.replace("-", "_") for name in sub.choices} >= modules


def test_command_modules_import_heavy_libraries_only_inside_functions():
    offenders = []
    for path in CLI.glob("*.py"):
        for node in ast.parse(path.read_text()).body:        # module level only
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            offenders += [f"{path.name}: {r}" for r in roots & HEAVY]
    assert offenders == []


def test_help_does_not_load_heavy_libraries():
    code = ("import sys; from swarm_ros.cli import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))")
    out = subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"swarm-ros {__version__}"
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name in ("launch", "check", "headless", "deploy", "vehicles", "patch", "export-gazebo"):
        assert name in out.stdout
