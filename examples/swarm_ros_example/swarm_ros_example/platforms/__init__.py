"""Platform files this package contributes (entry point group swarm_ros.core.platforms names this folder)."""
