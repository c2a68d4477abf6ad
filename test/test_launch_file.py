"""launch/swarm.launch.py and the node graph it launches.

Two kinds of test live here:

- The node graph (`swarm_ros.launching.node_specs`), which the launch file and `swarm-ros launch`
  share, is checked everywhere: no launch needed. Its `--ros-args` rendering is checked by
  handing it to rclpy's own argument parser where rclpy is installed.
- The launch file itself is flown with launch_pytest (rings mission, lockstep). launch,
  launch_ros and launch_pytest come only with a ROS 2 distribution (they are not on PyPI), and
  launch_ros finds executables through the ament index, so that test runs on a ROS 2 machine
  after `colcon build` and `source install/setup.bash`, and is skipped elsewhere with the reason.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
import yaml

from swarm_ros.launching import NodeSpec, node_specs

REPO = Path(__file__).resolve().parent.parent
LAUNCH_FILE = REPO / "launch" / "swarm.launch.py"
RINGS_DRONES = ["cf1", "cf2", "cf3", "cf4", "x1", "x2"]
ROS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ROS_NAMESPACE = re.compile(r"^(/[A-Za-z_][A-Za-z0-9_]*)+$")
MISSION_TIMEOUT = 240.0      # s wall: rings is 38 s of mission time, lockstep runs it faster than that


# --- the node graph: no launch needed ------------------------------------------------------------

def _by_executable(specs: list[NodeSpec]) -> dict[str, list[NodeSpec]]:
    out: dict[str, list[NodeSpec]] = {}
    for s in specs:
        out.setdefault(s.executable, []).append(s)
    return out


def test_rings_graph_default(rings_mission):
    specs = node_specs(rings_mission, bag_path="/tmp/bags/rings_test")
    groups = _by_executable(specs)
    assert list(groups) == ["simulator", "drone", "recorder", "swarm_view"]
    assert all(s.package == "swarm_ros" for s in specs)

    (sim,) = groups["simulator"]
    assert sim.required and (sim.name, sim.namespace) == ("simulator", "/swarm")
    assert sim.parameters == {"mission_file": rings_mission.file, "wait_recorder": True, "odom_readers": 2}
    assert [s for s in specs if s.required] == [sim], "only the simulator ends the mission"

    (drones,) = groups["drone"]                      # one process flies the whole fleet
    assert (drones.name, drones.namespace) == (None, None), "a group process must not rename its nodes"
    assert drones.parameters == {"mission_file": rings_mission.file, "drones": RINGS_DRONES}
    assert list(rings_mission.fleet.names) == RINGS_DRONES

    (rec,) = groups["recorder"]
    assert (rec.name, rec.namespace) == ("recorder", "/swarm")
    assert rec.parameters["bag_path"] == "/tmp/bags/rings_test"
    assert rec.parameters["topics"] == list(rings_mission.record.topics)
    assert rec.parameters["topics"] == ["odom", "cmd", "radio", "status", "poses", "markers"]
    assert rec.parameters["mission_file"] == rings_mission.file

    (view,) = groups["swarm_view"]
    assert (view.name, view.namespace) == ("swarm_view", "/swarm")
    assert view.parameters == {"mission_file": rings_mission.file}
    assert Path(rings_mission.file).is_absolute(), "nodes may run in another working directory"


def test_rings_graph_per_drone_processes(rings_mission):
    specs = node_specs(rings_mission, per_drone_processes=True, bag_path="b")
    drones = _by_executable(specs)["drone"]
    assert [d.namespace for d in drones] == [f"/{n}" for n in RINGS_DRONES]
    assert all(d.name == "drone" and not d.required for d in drones)
    assert [d.parameters["drones"] for d in drones] == [[n] for n in RINGS_DRONES]
    assert all(d.parameters["mission_file"] == rings_mission.file for d in drones)
    assert [s.executable for s in specs] == ["simulator", *["drone"] * 6, "recorder", "swarm_view"]


def test_graph_options(rings_mission):
    lockstep = node_specs(rings_mission, speed=0, bag_path="b")
    assert lockstep[0].parameters["speed"] == 0.0 and isinstance(lockstep[0].parameters["speed"], float)
    assert "speed" not in node_specs(rings_mission, bag_path="b")[0].parameters   # the mission's own

    unrecorded = node_specs(rings_mission, record=False)
    assert "recorder" not in _by_executable(unrecorded)
    assert unrecorded[0].parameters["wait_recorder"] is False, "the simulator must not wait for no recorder"

    default_bag = _by_executable(node_specs(rings_mission))["recorder"][0].parameters["bag_path"]
    assert Path(default_bag).parent.parent == Path(rings_mission.record.path)    # runs/rings_<time>/bag
    assert Path(default_bag).parent.name.startswith("rings_") and Path(default_bag).name == "bag"


def _all_specs(mission) -> list[NodeSpec]:
    # the last spec has values YAML would misread unquoted: drone names `on`/`inf`, ' #' in a path
    tricky = NodeSpec("drone", "drone", "/on", {"mission_file": "/tmp/a #b: c.yaml", "drones": ["on", "inf", "x1"]})
    return [*node_specs(mission, speed=0, bag_path="/tmp/bags/rings_test"),
            *node_specs(mission, per_drone_processes=True, speed=1.5, bag_path="runs/x"), tricky]


def _parse_ros_args(args: list[str]) -> tuple[dict, dict]:
    """(remaps, params) of a --ros-args list, failing on anything malformed."""
    assert args[0] == "--ros-args", args
    rest = args[1:]
    assert len(rest) % 2 == 0, f"flags and values do not pair up: {args}"
    remaps, params = {}, {}
    for flag, value in zip(rest[::2], rest[1::2]):
        assert flag in ("-r", "-p"), f"unexpected flag {flag!r} in {args}"
        key, sep, text = value.partition(":=")
        assert sep and key and text, f"{flag} {value!r} is not key:=value"
        (remaps if flag == "-r" else params)[key] = text
    return remaps, params


def test_ros_arguments_render_every_spec(rings_mission):
    for spec in _all_specs(rings_mission):
        remaps, params = _parse_ros_args(spec.ros_arguments())
        expected_remaps = {}
        if spec.name:
            assert ROS_NAME.match(spec.name), spec.name
            expected_remaps["__node"] = spec.name
        if spec.namespace:
            assert ROS_NAMESPACE.match(spec.namespace), spec.namespace
            expected_remaps["__ns"] = spec.namespace
        assert remaps == expected_remaps
        assert list(params) == list(spec.parameters)
        for key, text in params.items():
            assert ROS_NAME.match(key), key
            # rcl reads a -p value as YAML: it must come back as the value that was meant
            value = spec.parameters[key]
            assert yaml.safe_load(text) == (list(value) if isinstance(value, tuple) else value), (key, text)


def test_ros_arguments_examples(rings_mission):
    sim, drones, rec, view = node_specs(rings_mission, speed=0, bag_path="/tmp/bags/rings_test")
    assert sim.ros_arguments() == [
        "--ros-args", "-r", "__node:=simulator", "-r", "__ns:=/swarm",
        "-p", f"mission_file:='{rings_mission.file}'", "-p", "wait_recorder:=true", "-p", "odom_readers:=2",
        "-p", "speed:=0.0"]
    assert drones.ros_arguments() == [
        "--ros-args", "-p", f"mission_file:='{rings_mission.file}'",
        "-p", "drones:=['cf1','cf2','cf3','cf4','x1','x2']"]
    assert "topics:=['odom','cmd','radio','status','poses','markers']" in rec.ros_arguments()
    assert "bag_path:='/tmp/bags/rings_test'" in rec.ros_arguments()
    per_drone = node_specs(rings_mission, per_drone_processes=True, bag_path="b")[1]
    assert per_drone.ros_arguments()[:5] == ["--ros-args", "-r", "__node:=drone", "-r", "__ns:=/cf1"]
    assert "drones:=['cf1']" in per_drone.ros_arguments()


def test_ros_arguments_parse_in_rclpy(rings_mission, ros_domain, monkeypatch):
    """rcl's own parser accepts every spec's arguments and yields the intended name and values."""
    rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed (pip install ros-rclpy)")
    from rclpy.node import Node
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    for spec in _all_specs(rings_mission):
        context = rclpy.Context()
        rclpy.init(args=["probe", *spec.ros_arguments()], context=context)
        try:
            node = Node("probe", context=context, start_parameter_services=False, enable_rosout=False,
                        automatically_declare_parameters_from_overrides=True)
            try:
                assert node.get_name() == (spec.name or "probe")
                assert node.get_namespace() == (spec.namespace or "/")
                got = {k: node.get_parameter(k).value for k in spec.parameters}
                want = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.parameters.items()}
                assert {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in got.items()} == want
                assert type(got.get("speed", 0.0)) is float and type(got.get("wait_recorder", True)) is bool
            finally:
                node.destroy_node()
        finally:
            context.try_shutdown()


# --- the launch file, flown with launch_pytest (ROS 2 machines only) --------------------------

try:
    import launch_pytest
except ImportError:
    launch_pytest = None


class SimulatorWatch:
    """The simulator's output and exit, gathered from launch events.

    The launch file makes its Nodes inside an OpaqueFunction, so the test holds no handle on
    the simulator action: it is recognised by its command, <prefix>/lib/swarm_ros/simulator.
    Handlers run in the launch event loop; the test waits in another thread.
    """

    def __init__(self):
        self.chunks: list[str] = []
        self.returncode: int | None = None
        self.started = threading.Event()
        self.exited = threading.Event()

    @staticmethod
    def is_simulator(event) -> bool:
        return any(Path(str(part)).parts[-3:] == ("lib", "swarm_ros", "simulator") for part in event.cmd)

    def on_start(self, event, context=None):
        if self.is_simulator(event):
            self.started.set()

    def on_output(self, event):
        if self.is_simulator(event):
            self.chunks.append(event.text.decode(errors="replace"))

    def on_exit(self, event, context=None):
        if self.is_simulator(event):
            self.returncode = event.returncode
            self.exited.set()

    @property
    def output(self) -> str:
        return "".join(self.chunks)


def _installed_simulator() -> Path | None:
    """lib/swarm_ros/simulator of the ament prefix launch_ros will use, if there is one."""
    try:
        from ament_index_python.packages import get_package_prefix
        exe = Path(get_package_prefix("swarm_ros")) / "lib" / "swarm_ros" / "simulator"
    except Exception:
        return None
    return exe if os.access(exe, os.X_OK) else None


if launch_pytest is None:
    def test_launch_file_flies_rings():
        pytest.importorskip("launch_pytest", reason="launch_pytest is only available on a ROS 2 machine (not on PyPI)")

else:
    from launch import LaunchDescription
    from launch.actions import IncludeLaunchDescription, RegisterEventHandler, SetEnvironmentVariable
    from launch.event_handlers import OnProcessExit, OnProcessIO, OnProcessStart
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch_pytest.actions import ReadyToTest

    @pytest.fixture
    def simulator_watch():
        return SimulatorWatch()

    @launch_pytest.fixture
    def rings_launch(simulator_watch, ros_domain, tmp_path, monkeypatch):
        """swarm.launch.py with mission:=rings speed:=0 on this test's own DDS domain."""
        monkeypatch.chdir(tmp_path)        # the recorder writes runs/<bag> relative to its cwd
        # launch's SetEnvironmentVariable writes this process's os.environ: monkeypatch restores it
        monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
        monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        return LaunchDescription([
            SetEnvironmentVariable("ROS_DOMAIN_ID", str(ros_domain)),
            SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST"),
            RegisterEventHandler(OnProcessStart(on_start=simulator_watch.on_start)),
            RegisterEventHandler(OnProcessIO(on_stdout=simulator_watch.on_output,
                                             on_stderr=simulator_watch.on_output)),
            RegisterEventHandler(OnProcessExit(on_exit=simulator_watch.on_exit)),
            IncludeLaunchDescription(PythonLaunchDescriptionSource(str(LAUNCH_FILE)),
                                     launch_arguments={"mission": "rings", "speed": "0"}.items()),
            ReadyToTest(),
        ])

    @pytest.mark.skipif(_installed_simulator() is None,
                        reason="swarm_ros is not in the ament index with lib/swarm_ros/simulator: "
                               "colcon build it and source install/setup.bash")
    @pytest.mark.launch(fixture=rings_launch)
    def test_launch_file_flies_rings(simulator_watch, tmp_path):
        # while the launch runs: the simulator starts and, lockstep, flies the whole mission
        assert simulator_watch.started.wait(60), "the launch file started no simulator"
        assert simulator_watch.exited.wait(MISSION_TIMEOUT), \
            f"simulator still running after {MISSION_TIMEOUT} s:\n{simulator_watch.output[-3000:]}"
        yield
        # after launch shutdown (the launch file itself shuts down when the simulator ends)
        out = simulator_watch.output
        assert simulator_watch.returncode == 0, f"simulator exited {simulator_watch.returncode}:\n{out[-3000:]}"
        assert "mission complete" in out, out[-3000:]
        bags = list((tmp_path / "runs").glob("rings_*/bag/metadata.yaml"))
        assert bags, "the recorder wrote no bag under runs/"
