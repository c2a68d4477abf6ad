"""Targeted model-patch updates (issue 6): who a patch is for, and how it spreads through a swarm.

selector.py decides which drones a patch targets. SwarmSync (protocol.py, with messages.py,
chunks.py, neighbours.py, serving.py) moves a patch blob from an updater to exactly those drones;
gossip.py and soul.py are the baselines on the same messages; scenario.py runs any of them on the
network simulator (sim/netsim.py) at swarm scale. Nothing here imports ROS.
"""
