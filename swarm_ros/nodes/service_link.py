"""The ROS side of a mission service's messages with its drones (control/plugin.py).

A service names its Link by `module:attr` (its `link` attribute): the message types of its
request and answer topics and how each converts to and from the numbers the service and the
controllers exchange, and the type of its monitor topic and how it converts to and from the
figure dicts the runner reads. The drone node encodes requests and decodes answers, the service's node
decodes requests and encodes answers, and neither knows the service. A service that names no
Link sends plain numbers both ways (std_msgs/Float64MultiArray) and JSON (std_msgs/String) on
its monitor; one with its own messages (swarm_ros_interfaces CaoReport, PlanRequest, ...)
shows named fields to `ros2 topic echo`.
Decoders raise ValueError for a malformed message.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
from std_msgs.msg import Float64MultiArray, String

from swarm_ros.nodes import messages as msgs


def plain_numbers(msg: Float64MultiArray) -> np.ndarray:
    return np.asarray(msg.data, float)


def json_dict(msg: String) -> dict:
    return json.loads(msg.data)


@dataclass(frozen=True)
class Link:
    answer_type: type = Float64MultiArray
    decode_answer: Callable[[object], np.ndarray] = plain_numbers
    request_type: type = Float64MultiArray
    encode_request: Callable[[np.ndarray], object] = msgs.numbers
    decode_request: Callable[[object], np.ndarray] = plain_numbers
    encode_answer: Callable[[np.ndarray], object] = msgs.numbers
    monitor_type: type = String
    monitor_message: Callable[[dict], object] = msgs.json_message
    monitor_dict: Callable[[object], dict] = json_dict


NUMBERS = Link()   # numbers both ways


def link_of(service) -> Link:
    """The Link a service class names (NUMBERS when it names none)."""
    if not service.link:
        return NUMBERS
    module, _, attr = service.link.partition(":")
    return getattr(importlib.import_module(module), attr)
