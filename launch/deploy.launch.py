"""ros2 launch swarm_ros deploy.launch.py mission:=first_flight backend:=mixed [links:=links.yaml]
   [per_drone_processes:=true] [record:=false]

Real vehicles (Crazyflies through cflib, PX4 through MAVLink): the drone nodes and the recorder
are swarm_ros.deploy.node_specs, the graph `swarm-ros deploy` starts, run here as launch_ros Nodes;
`swarm-ros deploy --nodes-from-launch` does the rest as it does alone (preflight of every vehicle,
nothing arms unless all pass, the vehicle bridge, arming, the mission clock, landing every
vehicle at the end, on Ctrl-C or on any error). Its exit ends the launch: non-zero (preflight
failed, a vehicle did not land, a node died) makes `ros2 launch` exit non-zero.
Try it against simulated vehicles: `swarm-ros vehicles first_flight --links-out links.yaml`.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.substitutions import ExecutableInPackage

from swarm_ros.deploy import node_specs
from swarm_ros.hardware import backend_choices
from swarm_ros.launch_actions import FLAG_CHOICES, MissionWatch, flag, load_mission_arg
from swarm_ros.launching import ISOLATION, default_run_dir


def _actions(context):
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    mission = load_mission_arg(arg("mission"))
    per_drone = flag("per_drone_processes", arg("per_drone_processes"))
    record = mission.record.enabled if not arg("record") else flag("record", arg("record"))
    run_dir = default_run_dir(mission).with_name(default_run_dir(mission).name + "_deploy").resolve()
    deploy = ["deploy", str(mission.file), "--backend", arg("backend"), "--run-dir", str(run_dir),
              "--nodes-from-launch", *(["--links", arg("links")] if arg("links") else []),
              *([] if record else ["--no-record"]), *(["--per-drone-processes"] if per_drone else [])]
    watch = MissionWatch(tolerate_lost_drones=per_drone)
    # a plain process, not a Node: the CLI takes no --ros-args
    coordinator = ExecuteProcess(cmd=[ExecutableInPackage("swarm-ros", "swarm_ros"), *deploy], output="screen")
    return [*watch.actions(node_specs(mission, run_dir, per_drone, record)),
            *watch.watched(coordinator, "swarm-ros deploy", "swarm-ros", required=True)]


def generate_launch_description():
    return LaunchDescription([
        *[SetEnvironmentVariable(k, v) for k, v in ISOLATION.items()],
        DeclareLaunchArgument("mission", description="mission name (an installed config/missions/<name>.yaml) or file"),
        DeclareLaunchArgument("backend", choices=backend_choices(),
                              description="crazyflie / px4: every drone must be of that kind; mixed: each by its platform"),
        DeclareLaunchArgument("links", default_value="", description="link map (YAML drone: uri) overriding the fleet's"),
        DeclareLaunchArgument("per_drone_processes", default_value="false", choices=FLAG_CHOICES,
                              description="one drone-node process per vehicle"),
        DeclareLaunchArgument("record", default_value="", description="record a bag (default: the mission's record)"),
        OpaqueFunction(function=_actions),
    ])
