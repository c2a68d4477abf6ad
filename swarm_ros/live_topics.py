"""Channel names of the Foxglove live view (live_view.py): the one place they are defined.

They are Foxglove WebSocket channels, not ROS topics: the shipped layout
(config/foxglove/swarm_layout.json) names them, and the live view advertises exactly these.
/swarm/status carries the figures of the ROS topic of that name, as JSON.
"""
from __future__ import annotations

from . import topics

SCENE, WORLD_SCENE, TELEMETRY = "/swarm/scene", "/swarm/scene/world", "/swarm/telemetry"
STATUS = topics.STATUS
SCENE_SCHEMA = "foxglove.SceneUpdate"
# channel -> schema name it is advertised with
CHANNELS = {SCENE: SCENE_SCHEMA, WORLD_SCENE: SCENE_SCHEMA, TELEMETRY: "swarm_ros.Telemetry", STATUS: "swarm_ros.Status"}
