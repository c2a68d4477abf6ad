"""Protocol-level simulated vehicles: a Crazyflie speaking CRTP over cflib's UDP driver and a
PX4-like vehicle speaking MAVLink over UDP, both flying the project's point-mass physics.

They let the hardware backends (swarm_ros/hardware) and their real driver libraries (cflib,
pymavlink, MAVSDK) be exercised end to end without hardware. No ROS here.
"""
