"""Example swarm_ros plugins: a vehicle platform (platforms/) and a physics backend (windy.py)."""
