"""Decentralized controllers behind one contract (contract.py). Mission files name them by their
entry point in the `swarm_ros.controllers` group (the built-ins register in setup.py) or by a
`module:Class` path; swarm_ros/core/plugins.py finds them."""
from .contract import Controller, Neighbours, Observations

__all__ = ["Controller", "Neighbours", "Observations"]
