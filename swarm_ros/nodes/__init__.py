"""rclpy nodes: thin translators between ROS messages and the ROS-free arrays of the algorithms.

Each module here is also an executable (`python -m swarm_ros.nodes.<name>`, or the console
script of the same name); NODE_EXECUTABLES lists them for setup.py and the launcher.
"""
NODE_EXECUTABLES = ("simulator", "drone", "recorder", "swarm_view", "objective", "planner", "fisc_swarm", "update_server",
                    "gz_odom_adapter")
