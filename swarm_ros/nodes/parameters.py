"""What each node parameter means, and how a given value is checked against its default's type.

Every executable reads its parameters through `Process.parameters(defaults)`; each name here
gets a description, and the default's type is the parameter's type. Nodes then declare them
(read-only: they are read once at start) so `ros2 param list/get/describe` show what a node
was started with.
"""
from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.parameter import Parameter

DESCRIPTIONS = {
    "mission_file": "mission YAML file this node flies (absolute path)",
    "drones": "names of the fleet's drones this process flies (empty: the whole fleet)",
    "speed": "real-time factor to aim at; 0 = lockstep, as fast as it goes; < 0 = the mission's own",
    "lockstep": "the simulator runs at speed 0: wait for each tick's radio messages, reports and answers, "
                "as the headless runner orders them",
    "wait_recorder": "hold the mission start until the recorder is subscribed to every recorded topic",
    "cmd_timeout": "s without a setpoint after which a drone gets a hover setpoint",
    "startup_timeout": "s without a new peer connecting (drones, recorder, services) before giving up",
    "lost_after": "command timeouts of silence after which a drone is lost: no longer waited for, failsafe landing",
    "odom_readers": "subscribers each /<drone>/odom must have before the mission starts",
    "summary_readers": "subscribers /swarm/summary must have before the mission starts; the simulator ends "
                       "once they have acknowledged the summary (5 s at most)",
    "judge": "exit with code 4 when the mission failed (the simulator: collisions, geofence violations, a drone "
             "lost or not landed where the mission says; the recorder: data missing from the bag); ros2 launch sets it",
    "strict": "with judge: exit with code 4 also when more than 1 % of commands were late",
    "bag_path": "folder of the rosbag2 (MCAP) to write (empty: runs/<mission>_<time>/bag)",
    "topics": "kinds of topics to record (odom, cmd, radio, status, poses, markers; empty: the mission's)",
    "swarm_file": "FISC swarm YAML file (empty: the default channel and the parameters below)",
    "summary_path": "JSON file for the safety summary at the end (empty: none)",
    "dim": "2: planar channel flight; 3: volumetric",
    "height": "m, height of the channel in 3-D",
    "rate": "simulation steps per simulated second",
    "view_rate": "pose and marker messages per simulated second",
    "duration": "s of simulated flight before the node ends (0: never)",
    "altitude": "m, flight altitude of a planar swarm (z of its poses)",
    "seed": "random seed of the initial placement",
    "live_host": "address the Foxglove live view listens on (swarm_view)",
    "live_port": "port of the Foxglove live view (swarm_view; -1: no live view, 0: any free port)",
}

_TYPE_NAMES = {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string",
               list: "a list of strings, e.g. [a,b]"}


class ParameterError(ValueError):
    pass


def checked(name: str, value, default):
    """`value` as the type of `default` (an integer is accepted for a number), or ParameterError."""
    kind = type(default)
    if kind is float and type(value) is int:
        return float(value)
    if kind is list:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
    elif type(value) is kind:
        return value
    raise ParameterError(f"parameter {name!r}: expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {value!r}")


def declare(node, values: dict, defaults: dict) -> None:
    """Declare `values` on `node` as read (not re-read from the command line: they are checked),
    typed by their defaults. An empty list has no value type in rclpy: it is declared typed, unset."""
    for name, value in values.items():
        kind = Parameter.Type.from_parameter_value(defaults[name])
        node.declare_parameter(name, value if value != [] else kind, ParameterDescriptor(
            name=name, type=kind.value, description=DESCRIPTIONS.get(name, ""), read_only=True), ignore_override=True)
