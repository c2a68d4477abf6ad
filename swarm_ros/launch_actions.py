"""launch_ros actions from node specs, for the package's .launch.py files (needs launch and launch_ros).

The launch files turn `node_specs` (the graph `swarm-ros launch` and `swarm-ros deploy` start)
into Nodes here, so both entry points fly the same graph and fail the same way:

- launch arguments are checked with a one-line error that names the argument and what is allowed;
- a process that exits non-zero while the mission runs (the simulator, the recorder, any node;
  a drone process among several is tolerated, as by `swarm-ros launch`) ends the launch, and `ros2 launch`
  exits non-zero: launch returns 1 when an event handler raises, which is how it reports a failure;
- when the process that ends the mission (`NodeSpec.required`) exits cleanly, the recorder gets
  time to close its bag before the launch shuts down.
"""
from __future__ import annotations

from launch.actions import EmitEvent, OpaqueFunction, RegisterEventHandler, TimerAction
from launch.event_handlers import OnProcessExit, OnShutdown
from launch.events import Shutdown
from launch_ros.actions import Node

from swarm_ros.core.configfile import ConfigError

FLAG_CHOICES = ["true", "false", "1", "0", "yes", "no", "True", "False"]
RECORDER_CLOSE_TIMEOUT = 20.0   # s for the recorder to close the bag after the mission ends


class MissionFailed(RuntimeError):
    """Raised in the launch event loop: launch logs its one line and exits 1."""


def flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise MissionFailed(f"launch argument {name}:={text!r}: expected true, false, 1, 0, yes or no")
    return value in ("true", "1", "yes")


def port_number(name: str, text: str) -> int | None:
    """A port 0-65535, or None for an empty argument."""
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) > 65535:
        raise MissionFailed(f"launch argument {name}:={text!r}: expected a port number 0-65535 (or leave it unset)")
    return int(text)


def non_negative(name: str, text: str, unset=None):
    """A number >= 0, or `unset` for an empty argument."""
    if not text.strip():
        return unset
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise MissionFailed(f"launch argument {name}:={text!r}: expected a number >= 0 (or leave it unset)")
    return value


def process_count(name: str, text: str) -> int | None:
    """A whole number >= 1, or None for an empty argument."""
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise MissionFailed(f"launch argument {name}:={text!r}: expected a whole number >= 1 (or leave it unset)")
    return int(text)


def load_mission_arg(text: str):
    """The mission named (installed missions) or given as a file, or a one-line error."""
    from swarm_ros.mission import load_mission
    from swarm_ros.core.resources import find_mission
    try:
        return load_mission(find_mission(text))     # a name found nowhere: the error lists the installed ones
    except ConfigError as err:
        raise MissionFailed(f"launch argument mission:={text!r}: {err}") from None


class MissionWatch:
    """Follows the exits of a run's processes and decides when the launch ends, and how."""

    def __init__(self, tolerate_lost_drones: bool = False):
        self.tolerate_lost_drones = tolerate_lost_drones
        self.ending = False            # the mission ended or the launch is shutting down
        self.live: dict[str, str] = {}     # processes still running: where -> executable

    def actions(self, specs) -> list:
        out = [RegisterEventHandler(OnShutdown(on_shutdown=lambda *_: setattr(self, "ending", True)))]
        for spec in specs:
            node = Node(package=spec.package, executable=spec.executable, name=spec.name, namespace=spec.namespace,
                        ros_arguments=spec.parameter_arguments(), remappings=list(spec.remappings), output="screen")
            out += self.watched(node, spec.where, spec.executable, spec.required)
        return out

    def watched(self, action, where: str, executable: str, required: bool = False) -> list:
        """`action` (a process) and the handler that judges its exit."""
        self.live[where] = executable
        return [action, RegisterEventHandler(OnProcessExit(target_action=action,
                                                           on_exit=self._on_exit_for(where, executable, required)))]

    def _recorders(self) -> list[str]:
        return [w for w, exe in self.live.items() if exe == "recorder"]

    def _on_exit_for(self, where: str, executable: str, required: bool):
        def on_exit(event, context):
            self.live.pop(where, None)
            code = event.returncode
            if context.is_shutdown:
                return None
            stopped = self.ending and code in (-2, -15)        # stopped by us after the mission's end
            if code != 0 and not stopped:
                if self.tolerate_lost_drones and executable == "drone" and not self.ending:
                    return None      # one drone of many lost: the swarm flies on, as on hardware
                self.ending = True
                raise MissionFailed(f"{where} exited with code {code}; the mission failed")
            if required:
                self.ending = True
                if self._recorders():   # the recorder closes the bag on the summary, then exits
                    return [TimerAction(period=RECORDER_CLOSE_TIMEOUT, actions=[self._recorder_late()])]
            if self.ending and not self._recorders():
                return [EmitEvent(event=Shutdown(reason="the mission ended and its bag is closed"))]
            return None
        return on_exit

    def _recorder_late(self):
        def check(context):
            if context.is_shutdown:
                return []
            if self._recorders():
                raise MissionFailed(f"the recorder did not close the bag within {RECORDER_CLOSE_TIMEOUT:g} s "
                                    "of the mission's end")
            return [EmitEvent(event=Shutdown(reason="the mission ended"))]
        return OpaqueFunction(function=check)
