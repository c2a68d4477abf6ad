"""A recorder with more subscriptions than one DDS participant holds (the recorder spreads them
over participants of READERS_PER_PARTICIPANT) still records every topic: each drone's odometry
at every tick and its commands, read back with the independent mcap reader."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from scenarios import write_scaled_mission

from conftest import _domains
from test_end_to_end import odometry_stamps_are_every_tick, read_bag

from swarm_ros import topics
from swarm_ros.mission import load_mission
from swarm_ros.nodes.recorder import service_topics
from swarm_ros.nodes.runtime import READERS_PER_PARTICIPANT
from swarm_ros.report import exit_code


def test_every_topic_is_recorded_across_participants(tmp_path):
    # 10 s: a 4 s mission of 14 drones ends (lockstep, about 6x real time) before the runner
    # hears the summary ("the simulator ended without a summary"), with or without this recorder
    mission = load_mission(write_scaled_mission(tmp_path / "mission", 14, duration=10.0))
    recorded = topics.recorded(list(mission.record.topics), mission.fleet.names, service_topics(mission))
    assert len(recorded) > READERS_PER_PARTICIPANT          # the subscriptions need two participants
    env = dict(os.environ, ROS_DOMAIN_ID=str(next(_domains)), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", mission.file, "--speed", "0",
                          "--run-dir", str(tmp_path / "run"), "--json", str(tmp_path / "summary.json")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode in (0, 3), out.stdout[-3000:] + out.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert out.returncode == exit_code(summary)       # 3: the 10 s cut ends before every drone is down
    messages, _ = read_bag(tmp_path / "run" / "bag")
    for name in mission.fleet.names:
        assert odometry_stamps_are_every_tick(messages[topics.of(name, topics.ODOM)], mission), name
        assert len(messages[topics.of(name, topics.CMD)]) >= mission.ticks - 1, name
    assert summary["ticks"] == mission.ticks
