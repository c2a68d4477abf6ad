"""FISC-like missions: a small fleet flies the law drone by drone (contract controller, beacons
as the sensed neighbours) through the nozzle of config/missions/fisc_nozzle.yaml, headless."""
from pathlib import Path

import numpy as np
import pytest

from swarm_ros.headless import fly
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def nozzle_flight():
    m = load_mission(REPO / "config" / "missions" / "fisc_nozzle.yaml")
    ch = m.roles["fluid"].params.channel
    seen = {"clear": np.inf, "x_end": None}

    def watch(sim, _cmd):
        if m.phases.takeoff_end <= sim.t < m.phases.task_end:
            seen["clear"] = min(seen["clear"], float(ch.clearance(sim.position[:, :2]).min()))
        if abs(sim.t - (m.phases.task_end - m.dt)) < 1e-9:
            seen["x_end"] = sim.position[:, 0].copy()
    sim = fly(m, on_tick=watch)
    return m, ch, sim.summary(), seen


def test_small_fleet_flows_through_the_nozzle_safely(nozzle_flight):
    m, ch, s, seen = nozzle_flight
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    assert s["min_separation"] > 2 * 0.07                  # never closer than two Crazyflie radii
    assert all(d["landed"] for d in s["drones"])
    assert seen["clear"] > 0.05                            # no drone left the walls during the task
    x = seen["x_end"]
    assert np.count_nonzero(x > ch.stations[3]) >= 9       # past the throat (from the inlet, x <= 1.3)
    assert np.count_nonzero(x > ch.length) >= 6            # and most out of the exit


def test_fisc_role_params_are_bound_from_the_mission(nozzle_flight):
    m, ch, _, _ = nozzle_flight
    p = m.roles["fluid"].params
    assert ch.throat_width == 1.2 and ch.inlet_zone == 1.6 and p.fisc.spacing == 0.4 and p.fisc.inlet_compression == 0.3 and p.altitude == 1.0


def test_large_swarm_file_flies_headless(tmp_path, capsys):
    """config/fisc/fisc_thousand.yaml, the paper's scale, in one process: no contact, all inside."""
    import json
    from swarm_ros.cli import main
    assert main(["fisc", "headless", "fisc_thousand", "--duration", "4", "--json", str(tmp_path / "s.json")]) == 0
    s = json.loads((tmp_path / "s.json").read_text())
    assert 900 < s["agents_now"] < 1200 and s["steps"] == 80 and s["spawned"] > 0
    assert not s["contacts"] and s["min_separation"] > 0.14 and s["min_wall_clearance"] > 0
    assert "min separation" in capsys.readouterr().out


@pytest.mark.parametrize("edit,field,allowed", [
    (("law: {spacing: 0.4,", "law: {spacing: 0.4, separation: 3,"), "law.separation", "< smoothing (2.5 spacings)"),
    (("channel: {", "channel: {inlet_zone: 9, "), "channel.inlet_zone", "zones no longer than"),
    (("rate: 20", "rate: 20\ncolour: red"), "colour", "keys "),
    (("platform: crazyflie_2.1", "platform: blimp"), "platform", "one of crazyflie_2.1, px4_x500"),
    (("view_rate: 5", "view_rate: 50"), "view_rate", "<= 20"),
])
def test_bad_swarm_file_is_a_one_line_error(tmp_path, capsys, edit, field, allowed):
    from swarm_ros.cli import main
    text = (REPO / "config" / "fisc" / "fisc_thousand.yaml").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(edit[0], edit[1]))
    assert main(["fisc", "headless", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {bad}: {field}: ") and allowed in err.split("; allowed: ")[1]
