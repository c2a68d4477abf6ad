"""House rules that code review alone would let slip."""
import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALGORITHMS = ["swarm_ros/core", "swarm_ros/control", "swarm_ros/planning", "sim", "firmware_update"]
ROS_FREE_MODULES = ["swarm_ros/mission.py", "swarm_ros/fleet.py", "swarm_ros/platforms.py", "swarm_ros/headless.py",
                    "swarm_ros/launching.py"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_algorithm_module_imports_rclpy_or_ros_messages():
    files = [f for d in ALGORITHMS for f in (REPO / d).rglob("*.py")] + [REPO / f for f in ROS_FREE_MODULES]
    assert len(files) > 15
    ros = {"rclpy", "std_msgs", "geometry_msgs", "nav_msgs", "sensor_msgs", "visualization_msgs", "builtin_interfaces"}
    offenders = {str(f.relative_to(REPO)): imported_modules(f) & ros for f in files if imported_modules(f) & ros}
    assert offenders == {}


def test_headless_mission_runs_without_loading_rclpy():
    code = ("import sys; from swarm_ros.mission import load_mission; from swarm_ros.headless import fly; "
            f"fly(load_mission({str(REPO / 'config/missions/rings.yaml')!r})); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rclpy', 'nav_msgs', 'std_msgs')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_topic_names_are_defined_in_one_module():
    literal_topics = []
    for f in (REPO / "swarm_ros").rglob("*.py"):
        if f.name == "topics.py":
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/swarm/"):
                literal_topics.append(f"{f.name}: {node.value}")
    assert literal_topics == []
