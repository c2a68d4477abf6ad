"""Topics of the FISC-like swarm node (nodes/fisc_swarm.py, `swarm-ros fisc`), declared with
swarm_ros.topics so QoS knows them:

  /swarm/fisc/poses    geometry_msgs/PoseArray  every agent in flight
  /swarm/fisc/markers  visualization_msgs/MarkerArray  those agents, coloured by speed
  /swarm/fisc/channel  visualization_msgs/MarkerArray  the channel's walls (latched)
"""
from swarm_ros import topics

POSES, MARKERS, CHANNEL = "/swarm/fisc/poses", "/swarm/fisc/markers", "/swarm/fisc/channel"

topics.declare({POSES: "geometry_msgs/msg/PoseArray", MARKERS: "visualization_msgs/msg/MarkerArray",
                CHANNEL: "visualization_msgs/msg/MarkerArray"}, latched={CHANNEL})
