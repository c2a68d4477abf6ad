"""ros2 launch swarm_ros gazebo.launch.py mission:=rings   (a ROS 2 machine with gz-sim and ros_gz)

The mission's world and fleet fly in Gazebo instead of the swarm_ros simulator: the world is
exported to SDF (sim/gazebo.py, as `swarm-ros export-gazebo` does), `gz sim` runs it, ros_gz_bridge
carries each drone's odometry out of Gazebo and its velocity setpoints in (the bridge config is
exported with the world), gz_odom_adapter turns gz's body-axes odometry twist into the world
axes the drone nodes read, and the same drone nodes as in `swarm.launch.py` fly the mission. The
radio relay, safety metrics and summary are the swarm_ros simulator's and do not run here.
Gazebo cannot run on the machines this project is tested on; this file is not exercised there.
"""
import tempfile
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable, TimerAction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from sim.gazebo import export
from swarm_ros.gazebo_bridge import bridge_config
from swarm_ros.launching import ISOLATION, node_specs
from swarm_ros.launch_actions import load_mission_arg


def _actions(context):
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    mission = load_mission_arg(arg("mission"))
    out = Path(arg("out") or tempfile.mkdtemp(prefix=f"swarm_gz_{mission.name}_"))
    files = export(mission, out, bridge_config(mission))
    actions = [
        ExecuteProcess(cmd=["gz", "sim", "-r", str(files["world"])] + ([] if arg("gui") == "true" else ["-s"]),
                       output="screen"),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="gz_bridge",
             parameters=[{"config_file": str(files["bridge"])}], output="screen"),
        # gz's odometry twist is in body axes: the adapter republishes it on odom in world axes
        Node(package="swarm_ros", executable="gz_odom_adapter", name="gz_odom_adapter",
             parameters=[{"drones": mission.fleet.names}], output="screen"),
    ]
    # MulticopterVelocityControl listens only once enabled: enable every drone once gz is up
    enable = [ExecuteProcess(cmd=["gz", "topic", "-t", f"/{d.name}/enable", "-m", "gz.msgs.Boolean", "-p", "data: true"])
              for d in mission.fleet.drones]
    actions.append(TimerAction(period=float(arg("enable_after")), actions=enable))
    for spec in node_specs(mission, record=False):
        if spec.executable == "drone":
            actions.append(Node(package=spec.package, executable=spec.executable, name=spec.name,
                                namespace=spec.namespace, parameters=[spec.parameters],
                                remappings=list(spec.remappings), output="screen"))
    return actions


def generate_launch_description():
    return LaunchDescription([
        *[SetEnvironmentVariable(k, v) for k, v in ISOLATION.items()],
        DeclareLaunchArgument("mission", default_value="rings", description="mission name or file"),
        DeclareLaunchArgument("out", default_value="", description="folder for the exported SDF (default: a temp folder)"),
        DeclareLaunchArgument("gui", default_value="false", description="true: open the Gazebo GUI"),
        DeclareLaunchArgument("enable_after", default_value="5.0", description="s after start to enable the drones"),
        OpaqueFunction(function=_actions),
    ])
