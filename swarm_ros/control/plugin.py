"""What a controller plugin brings beside its per-drone step: mission checks and a mission service.

A controller class (contract.Controller) declares
- `Params` with `read(section)`: its parameter schema, errors in the one-line config format;
- `bind(params, role)`: checks and completes a role's params against the mission (its drones,
  the world, the radio, the seed); the default accepts them as read;
- `service`: a MissionService subclass it needs mission-wide, or None.

A mission service is what drones of a controller talk to beside their neighbours (a cost
evaluator, a path planner, a coordinator). Its class attributes tell the generic parts of the
stack everything they do with it: the launcher which node runs it, the drone node which topics
carry requests and answers and how they are encoded, the recorder what to record, the runner
what goes in the summary, the simulator what to wait for. The same object runs in-process in
the headless runner and inside its node, so both give the same answers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm_ros import topics


@dataclass(frozen=True)
class RoleContext:
    """A role being checked, with what the mission knows by then. Errors: `top.error(field, ...)`
    for the mission file (`field` = `params_field` + ...), ConfigError(fleet.file, ...) for the fleet's."""
    top: object          # configfile.Section of the mission file
    name: str            # the role
    drones: list         # fleet.Drone of every drone flying it
    fleet: object
    world: object
    radio: object        # sim.radio.RadioSpec
    seed: int

    @property
    def params_field(self) -> str:
        return f"roles.{self.name}.params"


@dataclass(frozen=True)
class ServiceContext:
    """What `MissionService.configure` sees: the mission file's top section (its own section is
    `top.section(service.section)`), the roles (a dict it may update with bound params) and
    the names of the roles it serves."""
    top: object
    roles: dict
    served: list
    world: object
    phases: object
    seed: int


@dataclass(frozen=True)
class ServiceUse:
    """A mission service in one mission: its class, its configuration, the drones it serves."""
    kind: type
    config: object                 # what kind.configure returned
    drones: dict                   # fleet index -> role of every drone it serves


class MissionService:
    """Base class of mission services. Subclasses set the class attributes they need."""
    name = ""                # node name; key in Mission.services
    module = ""              # Python module whose main() runs its node (`python -m`, swarm-ros launch)
    package = "swarm_ros"    # ROS package and ...
    executable = ""          # ... console script of that node (ros2 launch)
    section: str | None = None   # top-level mission-file section it reads
    request_topic: str | None = None   # per-drone topic drone -> service (relative name, see topics.of)
    answer_topic: str | None = None    # per-drone topic service -> drone
    link = ""                # "module:attr" of its nodes.service_link.Link: the ROS messages of request,
                             # answer and monitor and their conversions (default: numbers, JSON)
    monitor: str | None = None   # swarm-wide topic of figures it publishes (JSON std_msgs/String unless its
                                 # link says otherwise): the simulator waits for its publisher before
                                 # starting, the runner collects it for the summary
    record: str | None = None    # the record.topics kind recording request, answer and monitor
    record_when = ""         # when that kind can be recorded: "missions with ..."
    topics: dict = {}        # every topic it owns: name -> message type
    kept: dict = {}          # topic -> messages kept for late subscribers (transient local)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        topics.declare(cls.topics, kept=cls.kept)

    @classmethod
    def node_parameters(cls, use: ServiceUse) -> dict:
        """ROS parameters of its node beside `mission_file` (from which it reads everything else)."""
        return {}

    @classmethod
    def configure(cls, ctx: ServiceContext):
        """Read the service's mission section and bind its roles' params; return its configuration."""
        return None

    def __init__(self, mission, use: ServiceUse):
        self.mission, self.use = mission, use

    def prepare(self) -> None:
        """Work done before the first request (the planner builds its roadmaps)."""

    def request(self, drone: int, data: np.ndarray, clock: float = 0.0) -> list[tuple[int, np.ndarray]]:
        """Drone `drone` (fleet index) sent `data`; answers (drone, numbers) due at once."""
        return []

    def flush(self, clock: float | None = None) -> list[tuple[int, np.ndarray]]:
        """Answers due now. The headless runner calls it after each tick's requests (clock None:
        everything asked so far is complete); a node calls it on a timer with its clock."""
        return []

    def summary(self) -> dict:
        """Figures for the summary of a headless run (keys added to it)."""
        return {}

    @classmethod
    def path_of(cls, answer: np.ndarray) -> np.ndarray | None:
        """The (K, 3) points an answer plans for its drone, for live views (K = 0: no path);
        None for services whose answers are not paths (the default)."""
        return None

    @classmethod
    def plans_paths(cls) -> bool:
        """Whether its answers are paths (it overrides `path_of`)."""
        return cls.path_of.__func__ is not MissionService.path_of.__func__

    @classmethod
    def summarize(cls, use: ServiceUse, messages: list[dict]) -> dict:
        """Figures for the summary of a ROS run, from what it published on `monitor`. Default:
        the last message (nodes/service_host.py publishes `summary()` there after each answer)."""
        return messages[-1] if messages else {}

    @classmethod
    def progress(cls, messages: list[dict]) -> str:
        """A few words for the runner's progress line, from `monitor` messages so far."""
        return ""
