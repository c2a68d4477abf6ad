"""An example swarm_ros plugin: the `consensus` controller and its coordinator service."""
