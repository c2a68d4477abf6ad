"""A hundred drones in lockstep over ROS fly as the headless runner: at that size a delivery
tick's radio is a burst of about 100 messages, and every one must reach its drone. (A file of
its own: its minute runs beside test_lockstep_reproducible.py's missions on another worker.)"""
from __future__ import annotations

from scenarios import write_scaled_mission
from test_lockstep_reproducible import assert_same_flight, fly_over_ros, headless_flight

from swarm_ros.mission import load_mission


def test_a_hundred_drones_in_two_processes_equal_headless(tmp_path, ros_env):
    """100 drones: a delivery tick's radio is a burst of about 100 messages, and every one must
    reach its drone (with Fast DDS's default 512 KB shared-memory segment some did not, and the
    drones flew on without those beacons after a 0.8 s wait)."""
    path = write_scaled_mission(tmp_path / "mission", 100, duration=10.0)    # too short to land: exit 3
    mission = load_mission(path)
    positions, ref = headless_flight(mission)
    summary, bag = fly_over_ros(str(path), tmp_path, ros_env, "--drone-processes", "2", codes=(3,))
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "run" / "logs").glob("*_drones_*.log"))
    assert "went on without" not in logs
    assert_same_flight(mission, positions, bag, tmp_path / "run")
    assert summary["radio"] == ref["radio"]
