"""Topic names, message types and QoS: the one place they are defined.

Per drone (namespace /<drone>):
  odom       nav_msgs/Odometry        state estimate; header.stamp = mission time (s from start),
                                      frame "world" (ENU), twist in world axes; orientation
                                      and angular twist from the rigid-body backend (identity
                                      and zero on the point-mass backend)
  gz/odom    nav_msgs/Odometry        Gazebo runs only: gz-sim's odometry as bridged (twist in body
                                      axes); nodes/gz_odom_adapter.py republishes it on odom in world axes
  cmd        geometry_msgs/TwistStamped  velocity setpoint (ENU); stamp = the odom stamp it answers
  radio/tx   swarm_ros_interfaces/RadioBeacon   a beacon the drone broadcasts (see nodes/messages.py)
  radio/rx   swarm_ros_interfaces/RadioPackets  beacons the radio delivered to this drone in one tick
  cao/report    std_msgs/Float64MultiArray  CAO: [iteration k, mission time, decision x...] flown
  cao/feedback  std_msgs/Float64MultiArray  CAO: [iteration k, Delta_i(k), J(k)] from the evaluator
  plan/request  std_msgs/Float64MultiArray  planned drones: [id = mission time, start xyz, goal xyz,
                                      k, k sensed obstacles x 7] to the planner (planning/service.py)
  plan/path     nav_msgs/Path          the planner's answer: header.stamp = the request id, each
                                      pose stamped with the mission time to be there; no poses: no path
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
  /swarm/objective  std_msgs/String (JSON)  CAO evaluator: each iteration's J and members
  /swarm/fisc/poses    geometry_msgs/PoseArray  FISC-like swarm node: every agent in flight
  /swarm/fisc/markers  visualization_msgs/MarkerArray  those agents, coloured by speed
  /swarm/fisc/channel  visualization_msgs/MarkerArray  the channel's walls (latched)
  /swarm/update/tx     std_msgs/UInt8MultiArray  a SwarmSync message from the update server
  /swarm/update/rx     std_msgs/UInt8MultiArray  a SwarmSync message the radio delivered to it
  /swarm/update/push   std_msgs/UInt8MultiArray  a signed patch for the server (`swarm-ros patch push`)
  /swarm/update/server swarm_ros_interfaces/UpdateOffer  the server's answer to a push (latched)
"""
from __future__ import annotations

WORLD_FRAME = "world"

ODOM, CMD, RADIO_TX, RADIO_RX = "odom", "cmd", "radio/tx", "radio/rx"
GZ_ODOM = "gz/odom"
CAO_REPORT, CAO_FEEDBACK = "cao/report", "cao/feedback"
PLAN_REQUEST, PLAN_PATH = "plan/request", "plan/path"
OBJECTIVE = "/swarm/objective"
UPDATE_STATUS, UPDATE_TX, UPDATE_RX = "update/status", "update/tx", "update/rx"
SERVER_TX, SERVER_RX = "/swarm/update/tx", "/swarm/update/rx"
PATCH_PUSH, SERVER_STATE = "/swarm/update/push", "/swarm/update/server"
STATUS, SUMMARY = "/swarm/status", "/swarm/summary"
POSES, MARKERS, WORLD = "/swarm/poses", "/swarm/markers", "/swarm/world"
RECORDER_READY, RECORDER_PROGRESS = "/swarm/recorder_ready", "/swarm/recorder_progress"
FISC_POSES, FISC_MARKERS, FISC_CHANNEL = "/swarm/fisc/poses", "/swarm/fisc/markers", "/swarm/fisc/channel"

TYPES = {
    ODOM: "nav_msgs/msg/Odometry",
    GZ_ODOM: "nav_msgs/msg/Odometry",
    CMD: "geometry_msgs/msg/TwistStamped",
    RADIO_TX: "swarm_ros_interfaces/msg/RadioBeacon",
    RADIO_RX: "swarm_ros_interfaces/msg/RadioPackets",
    CAO_REPORT: "std_msgs/msg/Float64MultiArray",
    CAO_FEEDBACK: "std_msgs/msg/Float64MultiArray",
    PLAN_REQUEST: "std_msgs/msg/Float64MultiArray",
    PLAN_PATH: "nav_msgs/msg/Path",
    OBJECTIVE: "std_msgs/msg/String",
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
    FISC_POSES: "geometry_msgs/msg/PoseArray",
    FISC_MARKERS: "visualization_msgs/msg/MarkerArray",
    FISC_CHANNEL: "visualization_msgs/msg/MarkerArray",
}

# Latched topics: late subscribers (recorder, viewers) still get the last message.
LATCHED = {SUMMARY, WORLD, RECORDER_READY, RECORDER_PROGRESS, FISC_CHANNEL, UPDATE_STATUS, PATCH_PUSH, SERVER_STATE}

DEPTH = 200  # reliable history (4 s at 50 Hz): a recorder stalled that long still loses nothing

# Kept topics: a subscriber matched late (discovery between many processes can take seconds,
# longer than a fast lockstep mission) still gets this many of the latest messages.
KEPT = {OBJECTIVE: 5000, CAO_REPORT: 20, CAO_FEEDBACK: 20, PLAN_REQUEST: 20, PLAN_PATH: 20}


def of(drone: str, name: str) -> str:
    """Absolute name of a per-drone topic."""
    return f"/{drone}/{name}"


def kind(topic: str) -> str:
    """The name a topic has in this module: /cf1/cao/report -> cao/report; swarm-wide as is."""
    if topic.startswith("/") and not topic.startswith("/swarm/"):
        return topic.split("/", 2)[2]
    return topic


def recorded(kinds, drones, cao_drones=(), planned_drones=()) -> list[tuple[str, str]]:
    """(topic, type) for the mission's `record.topics` kinds; the summary is always recorded.
    `objective` records the evaluator's topic and the CAO messages of `cao_drones`; `plan` the
    requests and paths of `planned_drones`."""
    per_drone = {"odom": [ODOM], "cmd": [CMD], "radio": [RADIO_TX, RADIO_RX], "updates": [UPDATE_STATUS]}
    swarm = {"status": [STATUS], "poses": [POSES], "markers": [MARKERS, WORLD], "objective": [OBJECTIVE]}
    out = [(of(d, name), TYPES[name]) for kind in kinds for name in per_drone.get(kind, []) for d in drones]
    if "objective" in kinds:
        out += [(of(d, name), TYPES[name]) for name in (CAO_REPORT, CAO_FEEDBACK) for d in cao_drones]
    if "plan" in kinds:
        out += [(of(d, name), TYPES[name]) for name in (PLAN_REQUEST, PLAN_PATH) for d in planned_drones]
    out += [(name, TYPES[name]) for kind in kinds for name in swarm.get(kind, [])]
    return out + [(SUMMARY, TYPES[SUMMARY])]
