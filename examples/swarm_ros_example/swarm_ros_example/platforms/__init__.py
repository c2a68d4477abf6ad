"""Platform files this package contributes (entry point group swarm_ros.platforms names this folder)."""
