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
from swarm_ros.nodes import fisc_topics
from swarm_ros.nodes.runtime import qos


def test_fisc_swarm_node_publishes_a_thousand_agents(ros_context, ros_env, tmp_path):
    node, executor = ros_context
    poses, markers, walls = [], [], []
    node.create_subscription(PoseArray, fisc_topics.POSES, poses.append, qos(fisc_topics.POSES))
    node.create_subscription(MarkerArray, fisc_topics.MARKERS, markers.append, qos(fisc_topics.MARKERS))
    node.create_subscription(MarkerArray, fisc_topics.CHANNEL, walls.append, qos(fisc_topics.CHANNEL))
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


def test_small_fleet_mission_flies_the_fisc_law_drone_by_drone_over_ros(ros_env, tmp_path):
    """`swarm-ros launch` of config/missions/fisc_nozzle.yaml: ten drone controllers, beacons
    over the simulated radio, lockstep as fast as it goes."""
    import json
    from conftest import REPO
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", str(REPO / "config" / "missions" /
                          "fisc_nozzle.yaml"), "--speed", "0", "--no-record", "--run-dir", str(tmp_path / "run"),
                          "--json", str(tmp_path / "summary.json")],
                         capture_output=True, text=True, timeout=300, env=ros_env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["collisions"] == 0 and s["geofence_violations"] == 0 and s["min_separation"] > 2 * 0.07
    assert len(s["drones"]) == 10 and all(d["landed"] for d in s["drones"])
    assert min(d["distance"] for d in s["drones"]) > 5.0      # every drone flowed down the nozzle


def test_swarm_file_flies_over_ros_with_swarm_ros_fisc_launch(ros_env, tmp_path):
    """The large-swarm file through the fisc_swarm node: its summary comes back, all safe."""
    import json
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "fisc", "launch", "fisc_thousand", "--duration", "3",
                          "--speed", "0", "--run-dir", str(tmp_path / "run"), "--json", str(tmp_path / "s.json")],
                         capture_output=True, text=True, timeout=180, env=ros_env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["swarm"] == "fisc_thousand" and abs(s["sim_time"] - 3.0) < 1e-6 and s["agents_now"] > 900
    assert not s["contacts"] and not s["left_channel"] and s["spawned"] > 0
