"""The ROS side of a mission service's messages with its drones (control/plugin.py).

A service names its Link by `module:attr` (its `link` attribute), so the drone node encodes
requests and decodes answers of any service without knowing it. Requests default to plain
numbers (std_msgs/Float64MultiArray); a service may answer in another message type.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from std_msgs.msg import Float64MultiArray

from swarm_ros.nodes import messages as msgs


@dataclass(frozen=True)
class Link:
    answer_type: type = Float64MultiArray
    decode_answer: Callable[[object], np.ndarray] = None     # raises ValueError for a malformed answer
    request_type: type = Float64MultiArray
    encode_request: Callable[[np.ndarray], object] = msgs.numbers


NUMBERS = Link(decode_answer=lambda msg: np.asarray(msg.data, float))   # numbers both ways


def link_of(service) -> Link:
    """The Link a service class names (NUMBERS when it names none)."""
    if not service.link:
        return NUMBERS
    module, _, attr = service.link.partition(":")
    return getattr(importlib.import_module(module), attr)
