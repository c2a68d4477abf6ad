"""launch/swarm.launch.py and the node graph it launches.

Two kinds of test live here:

- The node graph (`swarm_ros.launching.node_specs`), which the launch file and `swarm-ros launch`
  share, is checked everywhere: no launch needed. Its `--ros-args` rendering is checked by
  handing it to rclpy's own argument parser where rclpy is installed.
- The launch file itself is flown with launch_pytest (a few seconds of rings: lockstep, one
  process per drone, real time), found through the ament index as `ros2 launch` finds it (this
  install registered by `python -m swarm_ros.ament_index`). launch, launch_ros and launch_pytest
  come with a ROS 2 distribution or from ../shared/ros2-tooling (not PyPI); without them these
  tests skip with the reason. Exit codes and failures go through `ros2 launch` itself
  (test_ros2_tools.py): launch_pytest requires a launch that ends with code 0.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
import yaml

from swarm_ros.launching import NodeSpec, drone_groups, node_specs

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
    assert sim.parameters == {"mission_file": rings_mission.file, "wait_recorder": True, "odom_readers": 2,
                              "summary_readers": 1}
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


def test_rings_graph_in_drone_processes(rings_mission):
    """--drone-processes K: contiguous shares in fleet order, sizes apart by at most one, each
    process named on its own (logs, lost-process messages); K = 1 is the default graph."""
    specs = node_specs(rings_mission, drone_processes=4, speed=0, bag_path="b")
    drones = _by_executable(specs)["drone"]
    assert [d.parameters["drones"] for d in drones] == [["cf1", "cf2"], ["cf3", "cf4"], ["x1"], ["x2"]]
    assert all(d.name is None and d.namespace is None and d.parameters["lockstep"] is True for d in drones)
    assert len({d.where for d in drones}) == 4
    assert [s.executable for s in specs] == ["simulator", *["drone"] * 4, "recorder", "swarm_view"]
    assert node_specs(rings_mission, drone_processes=1, bag_path="b") == node_specs(rings_mission, bag_path="b")
    assert [len(g) for g in drone_groups([f"d{i}" for i in range(100)], 3)] == [34, 33, 33]
    for bad in (0, 7):
        with pytest.raises(ValueError, match="allowed: 1 to 6"):
            node_specs(rings_mission, drone_processes=bad)


def test_graph_options(rings_mission):
    lockstep = node_specs(rings_mission, speed=0, bag_path="b")
    assert lockstep[0].parameters["speed"] == 0.0 and isinstance(lockstep[0].parameters["speed"], float)
    assert "speed" not in node_specs(rings_mission, bag_path="b")[0].parameters   # the mission's own
    assert all(d.parameters["lockstep"] is True for d in _by_executable(lockstep)["drone"]), \
        "lockstep drones wait for each tick's radio messages and answers"
    assert "lockstep" not in _by_executable(node_specs(rings_mission, bag_path="b"))["drone"][0].parameters

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
        "-p", "summary_readers:=1", "-p", "speed:=0.0"]
    assert drones.ros_arguments() == [
        "--ros-args", "-p", f"mission_file:='{rings_mission.file}'", "-p", "lockstep:=true",
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


# --- the launch file, flown with launch_pytest (needs the ROS 2 launch tooling) ----------------

try:
    import launch_pytest
except ImportError:
    launch_pytest = None

from ros2util import NO_TOOLS, have_tools, registered_prefix_path, short_rings, tool_env  # noqa: E402

LAUNCHES = {   # a few seconds of rings, three ways
    "lockstep": (6.0, {"speed": "0"}),
    "per_drone_processes": (6.0, {"speed": "0", "per_drone_processes": "true"}),
    "real_time": (6.0, {"speed": "1"}),
}


class ProcessWatch:
    """Output and exits of the launched processes, gathered from launch events.

    The launch file makes its Nodes inside an OpaqueFunction, so the test holds no handle on
    them: they are recognised by their command, <prefix>/lib/swarm_ros/<executable>.
    Handlers run in the launch event loop; the test waits in another thread.
    """

    def __init__(self):
        self.chunks: list[str] = []
        self.started: dict[str, int] = {}
        self.exits: dict[str, list[int]] = {}
        self.simulator_started = threading.Event()
        self.exited = {"simulator": threading.Event(), "recorder": threading.Event()}

    @staticmethod
    def executable(event) -> str | None:
        for part in event.cmd:
            parts = Path(str(part)).parts
            if parts[-3:-1] == ("lib", "swarm_ros"):
                return parts[-1]
        return None

    def on_start(self, event, context=None):
        exe = self.executable(event)
        if exe:
            self.started[exe] = self.started.get(exe, 0) + 1
            if exe == "simulator":
                self.simulator_started.set()

    def on_output(self, event):
        if self.executable(event):
            self.chunks.append(event.text.decode(errors="replace"))

    def on_exit(self, event, context=None):
        exe = self.executable(event)
        if exe:
            self.exits.setdefault(exe, []).append(event.returncode)
            if exe in self.exited:
                self.exited[exe].set()

    @property
    def output(self) -> str:
        return "".join(self.chunks)


if launch_pytest is None or not have_tools():
    @pytest.mark.parametrize("case", list(LAUNCHES))
    def test_launch_file_flies_short_rings(case):
        pytest.skip(NO_TOOLS)

else:
    import tempfile

    from launch import LaunchDescription
    from launch.actions import IncludeLaunchDescription, RegisterEventHandler, SetEnvironmentVariable
    from launch.event_handlers import OnProcessExit, OnProcessIO, OnProcessStart
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch_pytest.actions import ReadyToTest

    from swarm_ros.launch_actions import RECORDER_CLOSE_TIMEOUT

    @pytest.fixture
    def watch():
        return ProcessWatch()

    @pytest.fixture(autouse=True)
    def scratch_env(ros_domain, tmp_path, monkeypatch) -> dict:
        """This test's DDS domain; launch's logs and launch_ros's launch_params_* files in a scratch
        folder. Autouse, so it is in place before launch_pytest makes the launch service."""
        env = tool_env(dict(os.environ, ROS_DOMAIN_ID=str(ros_domain)), tmp_path / "scratch")
        for key in ("ROS_DOMAIN_ID", "TMPDIR", "ROS_HOME"):
            monkeypatch.setenv(key, env[key])
        monkeypatch.setattr(tempfile, "tempdir", env["TMPDIR"])
        return env

    def _launch_fixture(case: str):
        duration, arguments = LAUNCHES[case]

        def launch_fixture(watch, scratch_env, ros_domain, tmp_path, monkeypatch):
            """swarm.launch.py, found through the ament index as `ros2 launch` finds it, on this
            test's own DDS domain, flying a few seconds of rings."""
            monkeypatch.chdir(tmp_path)        # the recorder writes runs/<bag> relative to its cwd
            # launch's SetEnvironmentVariable writes this process's os.environ: monkeypatch restores it
            monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            monkeypatch.setenv("AMENT_PREFIX_PATH", registered_prefix_path(scratch_env))
            from ament_index_python.packages import get_package_share_directory
            launch_file = Path(get_package_share_directory("swarm_ros")) / "launch" / "swarm.launch.py"
            mission = short_rings(tmp_path, duration=duration)
            return LaunchDescription([
                SetEnvironmentVariable("ROS_DOMAIN_ID", str(ros_domain)),
                SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST"),
                RegisterEventHandler(OnProcessStart(on_start=watch.on_start)),
                RegisterEventHandler(OnProcessIO(on_stdout=watch.on_output, on_stderr=watch.on_output)),
                RegisterEventHandler(OnProcessExit(on_exit=watch.on_exit)),
                ReadyToTest(),     # before the include: a launch that fails must not leave the test waiting
                IncludeLaunchDescription(PythonLaunchDescriptionSource(str(launch_file)),
                                         launch_arguments={"mission": str(mission), **arguments}.items()),
            ])
        launch_fixture.__name__ = launch_fixture.__qualname__ = f"{case}_launch"   # launch_pytest finds it by name
        return launch_pytest.fixture(launch_fixture)

    lockstep_launch = _launch_fixture("lockstep")
    per_drone_processes_launch = _launch_fixture("per_drone_processes")
    real_time_launch = _launch_fixture("real_time")

    def _flies(watch, tmp_path):
        """While the launch runs: the simulator starts and flies the whole mission, then the recorder
        closes its bag and exits, which ends the launch. The test waits for that end: launch_pytest
        shuts the launch down when the test yields, and a SIGINT racing the recorder's own exit
        makes asyncio report it as 255 (its watcher finds the process already reaped)."""
        assert watch.simulator_started.wait(120), "the launch file started no simulator"
        assert watch.exited["simulator"].wait(MISSION_TIMEOUT), \
            f"simulator still running after {MISSION_TIMEOUT} s:\n{watch.output[-3000:]}"
        assert watch.exited["recorder"].wait(RECORDER_CLOSE_TIMEOUT + 10), \
            f"recorder still running {RECORDER_CLOSE_TIMEOUT:g} s after the mission:\n{watch.output[-3000:]}"

    def _completed(watch, tmp_path):
        """After the launch shut itself down (launch_pytest then checks its return code is 0)."""
        out = watch.output
        assert watch.exits["simulator"] == [0], f"simulator exited {watch.exits['simulator']}:\n{out[-3000:]}"
        assert watch.exits["recorder"] == [0], out[-3000:]
        assert "mission complete" in out, out[-3000:]
        (bag,) = (tmp_path / "runs").glob("short_rings_*/bag")
        assert (bag / "metadata.yaml").is_file(), "the recorder did not close its bag"
        assert "bag closed" in out
        return out

    @pytest.mark.launch(fixture=lockstep_launch)
    def test_launch_file_flies_short_rings_lockstep(watch, tmp_path):
        _flies(watch, tmp_path)
        yield
        out = _completed(watch, tmp_path)
        assert "starts in lockstep" in out
        assert watch.started == {"simulator": 1, "drone": 1, "recorder": 1, "swarm_view": 1}
        from swarm_ros.mission import load_mission
        from test_end_to_end import read_bag
        from test_lockstep_reproducible import assert_same_flight, headless_flight
        mission = load_mission(tmp_path / "short_rings.yaml")          # ros2 launch flies it as headless does
        (bag,) = (tmp_path / "runs").glob("short_rings_*/bag")
        assert_same_flight(mission, headless_flight(mission)[0], read_bag(bag)[0])

    @pytest.mark.launch(fixture=per_drone_processes_launch)
    def test_launch_file_flies_short_rings_per_drone_processes(watch, tmp_path):
        _flies(watch, tmp_path)
        yield
        _completed(watch, tmp_path)
        assert watch.started["drone"] == len(RINGS_DRONES), watch.started
        assert watch.exits["drone"] == [0] * len(RINGS_DRONES)

    @pytest.mark.launch(fixture=real_time_launch)
    def test_launch_file_flies_short_rings_real_time(watch, tmp_path):
        _flies(watch, tmp_path)
        yield
        out = _completed(watch, tmp_path)
        assert "starts at x1 real time" in out
