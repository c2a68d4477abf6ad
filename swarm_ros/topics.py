"""Topic names, message types and QoS: the one place they are defined.

Per drone (namespace /<drone>):
  odom       nav_msgs/Odometry        state estimate; header.stamp = mission time (s from start),
                                      frame "world" (ENU), twist in world axes; orientation
                                      and angular twist from the rigid-body backend (identity
                                      and zero on the point-mass backend); in lockstep the last
                                      twist covariance element counts the radio/rx messages of
                                      the same tick (nodes/cdr.py), zero otherwise
  gz/odom    nav_msgs/Odometry        Gazebo runs only: gz-sim's odometry as bridged (twist in body
                                      axes); nodes/gz_odom_adapter.py republishes it on odom in world axes
  cmd        geometry_msgs/TwistStamped  velocity setpoint (ENU); stamp = the odom stamp it answers
  radio/tx   swarm_ros_interfaces/RadioBeacon   a beacon the drone broadcasts (see nodes/messages.py)
  radio/rx   swarm_ros_interfaces/RadioPackets  beacons the radio delivered to this drone in one tick
  (a mission service's request and answer topics: declared by the service, see below)
  update/status  swarm_ros_interfaces/UpdateStatus  the drone's model (version, state, ...) on each
                                      change (the update agent; read by `swarm-ros analyze`);
                                      latched, so `swarm-ros patch status` reads it at any time
  update/tx      std_msgs/UInt8MultiArray  one SwarmSync message (firmware_update/messages.py bytes)
                                      the drone sends; the simulator's radio model carries it
  update/rx      std_msgs/UInt8MultiArray  one SwarmSync message the radio delivered to the drone
Swarm-wide:
  /swarm/status   swarm_ros_interfaces/SwarmStatus   progress and safety figures, a few times a second
  /swarm/summary  swarm_ros_interfaces/SwarmSummary  final figures of the run (latched; the complete
                                      summary as JSON in `details`)
  /swarm/poses    geometry_msgs/PoseArray  every drone's pose in roster order, at the view rate
  /swarm/markers  visualization_msgs/MarkerArray  drones, for RViz/Foxglove
  /swarm/world    visualization_msgs/MarkerArray  geofence and obstacles (latched)
  /swarm/recorder_ready  std_msgs/String  the recorder is subscribed to everything (latched)
  /swarm/recorder_progress  std_msgs/Int64  mission ns up to which every drone's odometry is in
                                            the bag (latched); lockstep waits for it
  /swarm/events   std_msgs/String  what went wrong during a run, one JSON object each: a drone lost
                                   or back, the simulator waiting for the recorder (kept, always recorded)
  /swarm/run      std_msgs/String  the run live on this domain: JSON with its run id, mission and pid
                                   (latched; `swarm-ros launch` refuses to start beside another)
  /swarm/update/tx     std_msgs/UInt8MultiArray  a SwarmSync message from the update server
  /swarm/update/rx     std_msgs/UInt8MultiArray  a SwarmSync message the radio delivered to it
  /swarm/update/push   std_msgs/UInt8MultiArray  a signed patch for the server (`swarm-ros patch push`)
  /swarm/update/server swarm_ros_interfaces/UpdateOffer  the server's answer to a push (latched)

Other owners declare their topics in one place of their own: a mission service in its class
(control/plugin.py: `topics`, `kept`), a node family in its `*_topics.py` module (e.g.
nodes/<family>_topics.py); `declare` adds them here, so QoS and the recorder know them too.
"""
from __future__ import annotations

WORLD_FRAME = "world"

ODOM, CMD, RADIO_TX, RADIO_RX = "odom", "cmd", "radio/tx", "radio/rx"
GZ_ODOM = "gz/odom"
UPDATE_STATUS, UPDATE_TX, UPDATE_RX = "update/status", "update/tx", "update/rx"
SERVER_TX, SERVER_RX = "/swarm/update/tx", "/swarm/update/rx"
PATCH_PUSH, SERVER_STATE = "/swarm/update/push", "/swarm/update/server"
STATUS, SUMMARY = "/swarm/status", "/swarm/summary"
POSES, MARKERS, WORLD = "/swarm/poses", "/swarm/markers", "/swarm/world"
RECORDER_READY, RECORDER_PROGRESS = "/swarm/recorder_ready", "/swarm/recorder_progress"
EVENTS, RUN = "/swarm/events", "/swarm/run"

TYPES = {
    ODOM: "nav_msgs/msg/Odometry",
    GZ_ODOM: "nav_msgs/msg/Odometry",
    CMD: "geometry_msgs/msg/TwistStamped",
    RADIO_TX: "swarm_ros_interfaces/msg/RadioBeacon",
    RADIO_RX: "swarm_ros_interfaces/msg/RadioPackets",
    UPDATE_STATUS: "swarm_ros_interfaces/msg/UpdateStatus",
    UPDATE_TX: "std_msgs/msg/UInt8MultiArray",
    UPDATE_RX: "std_msgs/msg/UInt8MultiArray",
    SERVER_TX: "std_msgs/msg/UInt8MultiArray",
    SERVER_RX: "std_msgs/msg/UInt8MultiArray",
    PATCH_PUSH: "std_msgs/msg/UInt8MultiArray",
    SERVER_STATE: "swarm_ros_interfaces/msg/UpdateOffer",
    STATUS: "swarm_ros_interfaces/msg/SwarmStatus",
    SUMMARY: "swarm_ros_interfaces/msg/SwarmSummary",
    POSES: "geometry_msgs/msg/PoseArray",
    MARKERS: "visualization_msgs/msg/MarkerArray",
    WORLD: "visualization_msgs/msg/MarkerArray",
    RECORDER_READY: "std_msgs/msg/String",
    RECORDER_PROGRESS: "std_msgs/msg/Int64",
    EVENTS: "std_msgs/msg/String",
    RUN: "std_msgs/msg/String",
}

# Latched topics: late subscribers (recorder, viewers) still get the last message.
LATCHED = {SUMMARY, WORLD, RECORDER_READY, RECORDER_PROGRESS, UPDATE_STATUS, PATCH_PUSH, SERVER_STATE, RUN}

DEPTH = 200  # reliable history (4 s at 50 Hz): a recorder stalled that long still loses nothing

# Kept topics: a subscriber matched late (discovery between many processes can take seconds,
# longer than a fast lockstep mission) still gets this many of the latest messages.
KEPT: dict[str, int] = {EVENTS: 100}


def declare(types: dict, kept: dict | None = None, latched=()) -> None:
    """Add an owner's topics (name -> message type), their kept depths and which are latched.
    A name already declared with another type is a programming error."""
    for name, type_name in types.items():
        if TYPES.setdefault(name, type_name) != type_name:
            raise ValueError(f"topic {name!r} is declared as {TYPES[name]} already, not {type_name}")
    KEPT.update(kept or {})
    LATCHED.update(latched)


def of(drone: str, name: str) -> str:
    """Absolute name of a per-drone topic."""
    return f"/{drone}/{name}"


def kind(topic: str) -> str:
    """The name a topic has in this module: /cf1/radio/rx -> radio/rx; swarm-wide as is."""
    if topic.startswith("/") and not topic.startswith("/swarm/"):
        return topic.split("/", 2)[2]
    return topic


def recorded(kinds, drones, services=()) -> list[tuple[str, str]]:
    """(topic, type) for the mission's `record.topics` kinds; the events and the summary are always recorded.
    `services`: (kind, drone names, per-drone topics, swarm-wide topics) of each mission
    service; its topics are recorded when its kind is."""
    per_drone = {"odom": [ODOM], "cmd": [CMD], "radio": [RADIO_TX, RADIO_RX], "updates": [UPDATE_STATUS]}
    swarm = {"status": [STATUS], "poses": [POSES], "markers": [MARKERS, WORLD]}
    out = [(of(d, name), TYPES[name]) for kind in kinds for name in per_drone.get(kind, []) for d in drones]
    for kind, names, drone_topics, _ in services:
        if kind in kinds:
            out += [(of(d, name), TYPES[name]) for name in drone_topics for d in names]
    out += [(name, TYPES[name]) for kind in kinds for name in swarm.get(kind, [])]
    out += [(name, TYPES[name]) for kind, _, _, swarm_topics in services if kind in kinds for name in swarm_topics]
    return out + [(EVENTS, TYPES[EVENTS]), (SUMMARY, TYPES[SUMMARY])]
