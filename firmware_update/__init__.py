"""Model updates for the swarm (issue 6), ROS-free.

Models and patches: model.py (numpy CNN, safetensors), shapes.py (procedural data), train.py and
training_set.py (numpy training, layer-frozen fine-tuning), patch.py (SwarmModelPatch: build,
sign, verify), agent.py (on-drone A/B install with rollback), atomic.py (crash-safe writes).
Dissemination: selector.py (targets), messages.py, chunks.py, neighbours.py, serving.py,
participant.py, protocol.py (SwarmSync).
"""
