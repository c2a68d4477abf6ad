"""House rules that code review alone would let slip."""
import ast
import re
import subprocess
import sys
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALGORITHMS = ["swarm_ros/core", "swarm_ros/control", "swarm_ros/planning", "sim", "firmware_update"]
ROS_FREE_MODULES = ["swarm_ros/mission.py", "swarm_ros/fleet.py",
                    "swarm_ros/headless.py", "swarm_ros/physics.py", "swarm_ros/launching.py"]


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


def declares_topics(path: Path, tree: ast.AST) -> bool:
    """The one place of an owner's topics: topics.py, a `*_topics.py` module, or the module of a
    mission service (a class deriving from MissionService declares its topics)."""
    def base_names(cls: ast.ClassDef):
        return {getattr(b, "id", getattr(b, "attr", "")) for b in cls.bases}
    return path.name.endswith("topics.py") or any(
        isinstance(n, ast.ClassDef) and "MissionService" in base_names(n) for n in ast.walk(tree))


def test_topic_names_are_defined_in_one_module():
    literal_topics, owners = [], []
    for f in (REPO / "swarm_ros").rglob("*.py"):
        tree = ast.parse(f.read_text())
        if declares_topics(f, tree):
            owners.append(f.name)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/swarm/"):
                literal_topics.append(f"{f.name}: {node.value}")
    assert literal_topics == []
    assert {"topics.py", "cao_service.py", "fisc_topics.py"} <= set(owners)


# Generic parts of the stack: they serve any controller plugin and its mission service.
GENERIC = ["swarm_ros/mission.py", "swarm_ros/nodes/drone.py", "swarm_ros/launching.py", "swarm_ros/headless.py",
           "swarm_ros/nodes/recorder.py", "swarm_ros/runner.py", "swarm_ros/topics.py", "swarm_ros/nodes/simulator.py",
           "swarm_ros/control/mission_controller.py", "swarm_ros/control/onboard.py", "swarm_ros/control/plugin.py",
           "swarm_ros/core/plugins.py", "swarm_ros/physics.py", "swarm_ros/hardware/__init__.py"]
PARTICULAR = re.compile(r"cao|planned|fisc|policy", re.IGNORECASE)


def test_generic_modules_name_no_particular_controller():
    """Names and strings (docstrings too; comments aside) of the generic modules never name a
    particular controller: what CAO, planned, FISC and policy need comes through their plugins."""
    found = []
    for rel in GENERIC:
        with tokenize.open(REPO / rel) as f:
            for tok in tokenize.generate_tokens(f.readline):
                if tok.type in (tokenize.NAME, tokenize.STRING) and PARTICULAR.search(tok.string):
                    found.append(f"{rel}:{tok.start[0]}: {tok.string[:60]}")
    assert found == []
