"""The project's own message types (the swarm_ros_interfaces package) for rosbags.

rosbags' stock typestores know the standard ROS 2 messages only. A bag writer registers ours
from their .msg text, so each connection in the bag carries the full definition (MCAP schema,
rosbag2 message_definitions) and any reader (ros2 bag, Foxglove, the mcap readers, rosbags'
AnyReader) decodes them without this package installed.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore

PACKAGE = "swarm_ros_interfaces"
CHECKOUT = Path(__file__).resolve().parent.parent / PACKAGE / "msg"


class InterfacesMissing(RuntimeError):
    pass


def msg_folder() -> Path:
    """msg/ of the installed package (this environment's prefix, where pip puts it, or an ament
    prefix, where colcon does), else the checkout's source folder."""
    prefixes = [sys.prefix] + [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for folder in [Path(p) / "share" / PACKAGE / "msg" for p in prefixes] + [CHECKOUT]:
        if folder.is_dir() and any(folder.glob("*.msg")):
            return folder
    raise InterfacesMissing(f"no {PACKAGE} message definitions in {', '.join(prefixes)} or {CHECKOUT}; "
                            "build them with scripts/build-interfaces (or colcon)")


def definitions() -> dict:
    """rosbags type definitions of every swarm_ros_interfaces message."""
    types: dict = {}
    for f in sorted(msg_folder().glob("*.msg")):
        types.update(get_types_from_msg(f.read_text(), f"{PACKAGE}/msg/{f.stem}"))
    return types


@lru_cache(maxsize=None)
def typestore(store: Stores = Stores.ROS2_KILTED):
    """A rosbags typestore that knows `store`'s messages and ours."""
    ts = get_typestore(store)
    ts.register(definitions())
    return ts
