"""Example swarm_ros plugins: a consensus controller with its coordinator service, a third vehicle platform and a windy point-mass physics backend."""
