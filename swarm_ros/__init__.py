"""swarm_ros: decentralized control of heterogeneous drone swarms on ROS 2."""
__version__ = "0.1.0"
