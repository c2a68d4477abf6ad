"""Node parameters: each is described, typed by its default, checked when given, declared read-only.

(`ros2 param get/list/describe` against a launched mission: test_ros2_tools.py.)
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_ros.nodes.parameters import DESCRIPTIONS, ParameterError, checked

REPO = Path(__file__).resolve().parent.parent


def _parameter_names() -> dict[str, set[str]]:
    """Names each node module reads: dict literals passed to `.parameters(...)` or named DEFAULTS."""
    out: dict[str, set[str]] = {}
    for f in sorted((REPO / "swarm_ros" / "nodes").glob("*.py")):
        tree = ast.parse(f.read_text())
        dicts = [n.args[0] for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "parameters" and n.args and isinstance(n.args[0], ast.Dict)]
        dicts += [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Dict)
                  and any(isinstance(t, ast.Name) and t.id == "DEFAULTS" for t in n.targets)]
        names = {k.value for d in dicts for k in d.keys if isinstance(k, ast.Constant)}
        if names:
            out[f.name] = names
    return out


def test_every_node_parameter_has_a_description():
    names = _parameter_names()
    assert {"simulator.py", "drone.py", "recorder.py", "runtime.py"} <= set(names), names
    missing = {f: sorted(n - set(DESCRIPTIONS)) for f, n in names.items() if n - set(DESCRIPTIONS)}
    assert missing == {}
    assert all(DESCRIPTIONS[n].strip() for s in names.values() for n in s)


def test_values_are_checked_against_the_default_type():
    assert checked("speed", 0, -1.0) == 0.0 and type(checked("speed", 0, -1.0)) is float
    assert checked("drones", ("cf1", "cf2"), [""]) == ["cf1", "cf2"]
    assert checked("wait_recorder", True, False) is True
    for name, value, default in (("speed", "fast", -1.0), ("odom_readers", 1.5, 1), ("wait_recorder", 1, False),
                                 ("drones", [1, 2], [""]), ("mission_file", 3, "")):
        with pytest.raises(ParameterError, match=f"parameter '{name}': expected"):
            checked(name, value, default)


def test_a_node_given_a_wrongly_typed_parameter_exits_with_one_line(ros_env, tmp_path):
    run = subprocess.run([sys.executable, "-m", "swarm_ros.nodes.simulator", "--ros-args", "-p", "speed:=fast",
                          "-p", f"mission_file:={REPO / 'config' / 'missions' / 'rings.yaml'}"],
                         env=ros_env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "parameter 'speed': expected a number, got 'fast'" in lines[0], run.stderr


def test_nodes_declare_what_they_read(ros_domain, monkeypatch):
    """A Process reads its parameters once; every node it makes declares them, described, read-only."""
    import rclpy
    from rcl_interfaces.msg import ParameterType
    from swarm_ros.nodes.runtime import Process
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
    with Process(["probe", "--ros-args", "-p", "speed:=2", "-p", "drones:=[cf1]"]) as proc:
        values = proc.parameters({"speed": -1.0, "drones": [""], "wait_recorder": False})
        assert values == {"speed": 2.0, "drones": ["cf1"], "wait_recorder": False}
        node = proc.node("probe")
        try:
            assert node.get_parameter("speed").value == 2.0
            assert node.get_parameter("drones").value == ["cf1"]
            assert node.get_parameter("wait_recorder").value is False
            (desc,) = node.describe_parameters(["speed"])
            assert desc.type == ParameterType.PARAMETER_DOUBLE and desc.read_only
            assert desc.description == DESCRIPTIONS["speed"]
            assert not node.set_parameters([rclpy.parameter.Parameter("speed", value=3.0)])[0].successful
        finally:
            node.destroy_node()
