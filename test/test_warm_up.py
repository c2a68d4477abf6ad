"""A drone process warms its controllers up on a throwaway copy before the mission
(control/onboard.warm_up): for every shipped mission it runs, and the drones then fly exactly as
they would have without it (nothing of the copy leaks into shared state)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from swarm_ros.control.onboard import Onboard, warm_up
from swarm_ros.mission import load_mission

MISSIONS = sorted(str(p) for p in (Path(__file__).resolve().parent.parent / "config" / "missions").glob("*.yaml"))


def first_commands(mission, ticks: int = 30) -> np.ndarray:
    onboard = Onboard(mission, mission.fleet.drones)
    position = np.array([d.start for d in mission.fleet.drones], float)
    velocity = np.zeros_like(position)
    out = []
    for tick in range(ticks):
        cmd, _ = onboard.step(tick, position, velocity)
        onboard.reports()
        out.append(cmd.copy())
        position = position + cmd / mission.control_rate
        velocity = cmd
    return np.array(out)


@pytest.mark.parametrize("name", MISSIONS, ids=lambda p: Path(p).stem)
def test_warm_up_runs_and_changes_nothing(name):
    mission = load_mission(name)
    before = first_commands(load_mission(name))
    warm_up(mission, mission.fleet.drones)
    warm_up(mission, mission.fleet.drones[:1])          # a process with one drone (hardware, per-drone)
    assert np.array_equal(first_commands(mission), before)
