"""ros2 launch swarm_ros swarm.launch.py mission:=rings [speed:=0] [per_drone_processes:=true]

The node graph comes from swarm_ros.launching.node_specs, the same function `swarm-ros launch`
uses; this file only turns specs into launch_ros Nodes. The launch ends when the simulator
ends (after the mission summary).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler, SetEnvironmentVariable
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from swarm_ros.launching import ISOLATION, node_specs
from swarm_ros.mission import load_mission
from swarm_ros.core.resources import find_mission


def _nodes(context):
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    mission = load_mission(find_mission(arg("mission")))
    speed = float(arg("speed")) if arg("speed") else None
    actions = []
    for spec in node_specs(mission, speed=speed, per_drone_processes=arg("per_drone_processes") == "true"):
        node = Node(package=spec.package, executable=spec.executable, name=spec.name, namespace=spec.namespace,
                    parameters=[spec.parameters], remappings=list(spec.remappings), output="screen")
        actions.append(node)
        if spec.required:
            actions.append(RegisterEventHandler(OnProcessExit(target_action=node, on_exit=[EmitEvent(event=Shutdown())])))
    return actions


def generate_launch_description():
    return LaunchDescription([
        *[SetEnvironmentVariable(k, v) for k, v in ISOLATION.items()],
        DeclareLaunchArgument("mission", default_value="rings", description="mission name or file"),
        DeclareLaunchArgument("speed", default_value="", description="real-time factor; 0 = lockstep, fastest"),
        DeclareLaunchArgument("per_drone_processes", default_value="false"),
        OpaqueFunction(function=_nodes),
    ])
