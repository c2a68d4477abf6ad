"""The figure dicts of a run (status, summary, model update status, update offer) as their typed
swarm_ros_interfaces messages, and back.

The dicts stay what the rest of the code (runner, report table, summary.json, analysis) works
with; the messages give `ros2 topic echo`, Foxglove and other languages labelled fields. A key a
dict lacks becomes the field's "not reported" value (empty string, 0, or -1 where 0 is a real
value) and is left out again on the way back, so a round trip returns the same dict. The summary
carries its complete dict as JSON in `details` (missions and services add their own figures).
"""
from __future__ import annotations

import json

from swarm_ros_interfaces.msg import DroneSummary, SwarmStatus, SwarmSummary, UpdateOffer, UpdateStatus

_STATUS = ("t", "duration", "phase", "collisions", "geofence_violations", "min_separation", "rtf",
           "late_ticks", "mode")
_DRONE = ("name", "type", "role", "distance", "min_separation", "collisions", "geofence_violations", "landed",
          "late_ticks")
_SUMMARY = ("mission", "sim_time", "ticks", "collisions", "geofence_violations", "min_separation", "rtf",
            "late_ticks", "mode")
# message field -> dict key, where they differ
_UPDATE_RENAMED = {"model_hash": "hash"}
_UPDATE_MINUS_ONE = {"classes", "progress"}   # numbers whose 0 is meaningful: -1 means "not reported"
_OFFER_RENAMED = {"size": "bytes"}


def _fill(msg, values: dict, fields, renamed=None):
    """Set each of `fields` on `msg` from `values` (by its dict key), cast to the field's type."""
    renamed = renamed or {}
    for name in fields:
        key = renamed.get(name, name)
        if key in values and values[key] is not None:
            current = getattr(msg, name)
            setattr(msg, name, type(current)(values[key]) if not isinstance(current, str) else str(values[key]))
    return msg


def status_message(status: dict) -> SwarmStatus:
    return _fill(SwarmStatus(), status, _STATUS)


def status_dict(msg: SwarmStatus) -> dict:
    return {name: getattr(msg, name) for name in _STATUS}


def summary_message(summary: dict) -> SwarmSummary:
    msg = _fill(SwarmSummary(), summary, _SUMMARY)
    msg.drones = [_fill(DroneSummary(), d, _DRONE) for d in summary.get("drones", [])]
    msg.details = json.dumps(summary, separators=(",", ":"))
    return msg


def summary_dict(msg: SwarmSummary) -> dict:
    """The complete summary the message carries (its `details`)."""
    return json.loads(msg.details)


def _update_fields() -> list[str]:
    return list(UpdateStatus.get_fields_and_field_types())


def update_status_message(status: dict) -> UpdateStatus:
    """firmware_update.agent's status dict (plus the node's label fields) as an UpdateStatus."""
    msg = UpdateStatus(classes=-1, progress=-1.0)
    values = dict(status)
    fallback = values.pop("fallback", None) or {}
    values.update({f"fallback_{k}": v for k, v in fallback.items()})
    return _fill(msg, values, _update_fields(), _UPDATE_RENAMED)


def update_status_dict(msg: UpdateStatus) -> dict:
    out, fallback = {}, {}
    for name in _update_fields():
        value = getattr(msg, name)
        if value == "" or (name in _UPDATE_MINUS_ONE and value == -1) or (
                name not in _UPDATE_MINUS_ONE and not isinstance(value, str) and value == 0):
            continue
        if name.startswith("fallback_"):
            fallback[name[len("fallback_"):]] = value
        else:
            out[_UPDATE_RENAMED.get(name, name)] = value
    if fallback:
        out["fallback"] = fallback
    return out


def update_offer_message(offer: dict) -> UpdateOffer:
    return _fill(UpdateOffer(), offer, list(UpdateOffer.get_fields_and_field_types()), _OFFER_RENAMED)


def update_offer_dict(msg: UpdateOffer) -> dict:
    out = {}
    for name in UpdateOffer.get_fields_and_field_types():
        value = getattr(msg, name)
        if value != "" and not (name == "size" and value == 0):
            out[_OFFER_RENAMED.get(name, name)] = value
    return out

