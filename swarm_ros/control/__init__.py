"""Decentralized controllers behind one contract (contract.py), chosen by name in mission files."""
from .cao_controller import CAOController
from .contract import Controller, Neighbours, Observations
from .fisc_controller import FiscController
from .formation import FormationController
from .planned import PlannedController
from .policy_role import PolicyRoleController
from .waypoint import WaypointController

# name in mission files -> controller class (each has a `Params` with `read(section)`)
CONTROLLERS: dict[str, type[Controller]] = {
    "waypoint": WaypointController,
    "formation": FormationController,
    "cao": CAOController,
    "planned": PlannedController,
    "fisc": FiscController,
    "policy": PolicyRoleController,
}

__all__ = ["CONTROLLERS", "Controller", "Neighbours", "Observations"]
