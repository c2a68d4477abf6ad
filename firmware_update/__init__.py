"""Targeted model updates, ROS-free: which drones a patch is for, how it spreads, and
how a drone installs it.

selector.py decides which drones a patch targets. SwarmSync (protocol.py, with messages.py,
chunks.py, neighbours.py, serving.py, participant.py) moves a patch blob from an updater to exactly
those drones; gossip.py and soul.py are the baselines on the same messages; scenario.py runs any of
them on the network simulator (sim/netsim.py) at swarm scale. Models and patches: model.py (numpy
CNN, safetensors), shapes.py (procedural data), train.py and training_set.py (numpy training,
layer-frozen fine-tuning), patch.py (SwarmModelPatch: build, sign, verify), agent.py (on-drone
A/B install with rollback), atomic.py (crash-safe writes). Nothing here imports ROS.
"""
