"""ros2 launch swarm_ros swarm.launch.py mission:=rings [speed:=0] [per_drone_processes:=true | drone_processes:=K]
    [strict:=true]
    [view_port:=8765 [view_host:=127.0.0.1]]

The node graph comes from swarm_ros.launching.node_specs, the same function `swarm-ros launch`
uses; swarm_ros.launch_actions turns specs into launch_ros Nodes and watches their exits. The
launch ends when the mission ends (the simulator after its summary, then the recorder once the
bag is closed), and exits non-zero when the mission fails: a process exits non-zero (a killed
simulator, a recorder that cannot write), or the simulator's verdict is a failed mission
(collisions, geofence violations, a drone lost or not landed where the mission says), or, with
strict:=true, more than 1 % of the commands were late. A bad argument gives a one-line error naming it.
"""
import os
from dataclasses import replace

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration

from swarm_ros.launch_actions import (FLAG_CHOICES, MissionFailed, MissionWatch, flag, load_mission_arg, non_negative,
                                      port_number, process_count)
from swarm_ros.launching import ISOLATION, dds_profile, drone_groups, node_specs, several_drone_processes


def _nodes(context):
    arg = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    mission = load_mission_arg(arg("mission"))
    per_drone = flag("per_drone_processes", arg("per_drone_processes"))
    groups = process_count("drone_processes", arg("drone_processes"))
    if groups is not None:
        try:
            if per_drone:
                raise ValueError("per_drone_processes:=true already gives one per drone; set one or the other")
            drone_groups(mission.fleet.names, groups)         # the bound, checked where it is kept
        except ValueError as err:
            raise MissionFailed(f"launch argument drone_processes:={groups}: {mission.file}: {err}") from None
    strict = flag("strict", arg("strict"))
    port = port_number("view_port", arg("view_port"))
    specs = node_specs(mission, speed=non_negative("speed", arg("speed")), per_drone_processes=per_drone,
                       drone_processes=groups,
                       live=None if port is None else (arg("view_host"), port))
    # the process that ends the mission (the simulator) judges it and exits non-zero when it failed;
    # the recorder does the same when its bag misses data (under `swarm-ros launch` the runner judges)
    specs = [replace(s, parameters={**s.parameters, "judge": True, "strict": strict}) if s.required else
             replace(s, parameters={**s.parameters, "judge": True}) if s.executable == "recorder" else s
             for s in specs]
    return MissionWatch(tolerate_lost_drones=several_drone_processes(specs)).actions(specs)


def generate_launch_description():
    return LaunchDescription([
        *[SetEnvironmentVariable(k, v) for k, v in ISOLATION.items()],
        SetEnvironmentVariable("PYTHONFAULTHANDLER", "1"),     # a native crash leaves the Python stacks
        *[SetEnvironmentVariable(k, v) for k, v in dds_profile(os.environ).items()],
        DeclareLaunchArgument("mission", default_value="rings",
                              description="mission name (an installed config/missions/<name>.yaml) or file"),
        DeclareLaunchArgument("speed", default_value="",
                              description="real-time factor; 0 = lockstep, fastest; empty = the mission's"),
        DeclareLaunchArgument("per_drone_processes", default_value="false", choices=FLAG_CHOICES,
                              description="one process per drone (default: one for the whole fleet)"),
        DeclareLaunchArgument("drone_processes", default_value="",
                              description="the drones in this many processes of contiguous shares (empty: 1)"),
        DeclareLaunchArgument("strict", default_value="false", choices=FLAG_CHOICES,
                              description="fail (non-zero exit) also when more than 1 % of commands were late"),
        DeclareLaunchArgument("view_port", default_value="",
                              description="serve the Foxglove live view on this port (empty: no live view)"),
        DeclareLaunchArgument("view_host", default_value="127.0.0.1",
                              description="address the Foxglove live view listens on"),
        OpaqueFunction(function=_nodes),
    ])
