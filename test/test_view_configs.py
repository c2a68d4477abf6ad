"""The shipped Foxglove layout and RViz config parse, and name only channels and topics that exist:
the layout those the live view advertises (and fields its schemas have), the RViz config the ROS
topics of swarm_ros/topics.py with matching display types and QoS."""
from __future__ import annotations

import json

import yaml

from conftest import REPO
from swarm_ros import topics
from swarm_ros.live_topics import CHANNELS, SCENE_SCHEMA, STATUS, TELEMETRY
from swarm_ros.live_view import STATUS_JSON_SCHEMA, TELEMETRY_JSON_SCHEMA

LAYOUT = REPO / "config" / "foxglove" / "swarm_layout.json"
RVIZ = REPO / "config" / "rviz" / "swarm.rviz"
JSON_SCHEMAS = {TELEMETRY: TELEMETRY_JSON_SCHEMA, STATUS: STATUS_JSON_SCHEMA}


def panel_ids(tree) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    return panel_ids(tree["first"]) + panel_ids(tree["second"])


def split_path(path: str) -> tuple[str, list[str]]:
    """A Foxglove message path '/topic.a.b' as ('/topic', ['a', 'b'])."""
    topic, *fields = path.split(".")
    return topic, fields


def schema_has(schema: dict, fields: list[str]) -> bool:
    for name in fields:
        if schema.get("type") == "array":
            schema = schema["items"]
        schema = schema.get("properties", {}).get(name)
        if schema is None:
            return False
    return True


def test_layout_parses_and_every_panel_is_placed_and_configured():
    layout = json.loads(LAYOUT.read_text())
    placed = panel_ids(layout["layout"])
    assert sorted(placed) == sorted(layout["configById"]) and len(set(placed)) == len(placed)
    kinds = {p.split("!")[0] for p in placed}
    assert {"3D", "Plot", "RawMessages"} <= kinds


def test_layout_names_only_advertised_channels_and_fields():
    config = json.loads(LAYOUT.read_text())["configById"]
    used = []
    for panel, cfg in config.items():
        kind = panel.split("!")[0]
        if kind == "3D":
            scenes = list(cfg["topics"])
            assert scenes and all(CHANNELS[t] == SCENE_SCHEMA for t in scenes)
            assert cfg["followTf"] == topics.WORLD_FRAME
            used += scenes
        elif kind == "Plot":
            for series in cfg["paths"]:
                topic, fields = split_path(series["value"])
                assert schema_has(JSON_SCHEMAS[topic], fields), series["value"]
                used.append(topic)
        else:
            topic, fields = split_path(cfg["topicPath"])
            assert schema_has(JSON_SCHEMAS[topic], fields), cfg["topicPath"]
            used.append(topic)
    assert set(used) <= set(CHANNELS)
    assert set(CHANNELS) == set(used)           # and every channel is on show


def test_rviz_config_parses_and_shows_existing_topics_with_their_types_and_qos():
    rviz = yaml.safe_load(RVIZ.read_text())
    manager = rviz["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == topics.WORLD_FRAME
    display_type = {"rviz_default_plugins/MarkerArray": "visualization_msgs/msg/MarkerArray",
                    "rviz_default_plugins/PoseArray": "geometry_msgs/msg/PoseArray",
                    "rviz_default_plugins/Path": "nav_msgs/msg/Path"}
    shown = []
    for display in manager["Displays"]:
        if "Topic" not in display:
            continue
        name = display["Topic"]["Value"]
        assert topics.TYPES[name] == display_type[display["Class"]], name
        latched = display["Topic"]["Durability Policy"] == "Transient Local"
        assert latched == (name in topics.LATCHED), name
        assert display["Topic"]["Reliability Policy"] == "Reliable"
        shown.append(name)
    assert {topics.MARKERS, topics.WORLD} <= set(shown)
