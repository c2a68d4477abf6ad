"""The FISC-like swarm node over real DDS: 1,000+ agents in one process, published as a PoseArray
and a MarkerArray, every agent inside the channel."""
import subprocess
import sys

import numpy as np
from geometry_msgs.msg import PoseArray
from visualization_msgs.msg import MarkerArray

from rosutil import spin_until
from sim.channel import Channel
from swarm_ros import topics
from swarm_ros.nodes.runtime import qos
from test_ros_integration import ros_context  # noqa: F401  (the fixture)


def test_fisc_swarm_node_publishes_a_thousand_agents(ros_context, ros_env, tmp_path):  # noqa: F811
    node, executor = ros_context
    poses, markers, walls = [], [], []
    node.create_subscription(PoseArray, topics.FISC_POSES, poses.append, qos(topics.FISC_POSES))
    node.create_subscription(MarkerArray, topics.FISC_MARKERS, markers.append, qos(topics.FISC_MARKERS))
    node.create_subscription(MarkerArray, topics.FISC_CHANNEL, walls.append, qos(topics.FISC_CHANNEL))
    log = open(tmp_path / "fisc_swarm.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "swarm_ros.nodes.fisc_swarm", "--ros-args", "-p", "speed:=0.0",
                             "-p", "view_rate:=10.0", "-p", "duration:=60.0"], env=ros_env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        assert spin_until(executor, lambda: len(poses) >= 3 and markers and walls, 60), \
            (tmp_path / "fisc_swarm.log").read_text()[-2000:]
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        log.close()
    msg = poses[-1]
    xyz = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])
    assert len(xyz) >= 1000 and msg.header.frame_id == topics.WORLD_FRAME
    assert (Channel().clearance(xyz[:, :2]) > 0).all() and np.allclose(xyz[:, 2], 1.0)
    first = {round(p.position.x, 6) for p in poses[0].poses}
    assert first != set(xyz[:, 0].round(6).tolist())      # the swarm moved between the two messages
    m = markers[-1].markers[0]
    assert m.type == m.SPHERE_LIST and len(m.points) == len(m.colors) > 900
    assert len(walls[0].markers) == 2
