"""The PyBullet rigid-body backend: hover, step responses within the profile's limits, the
aerodynamic models, and the default mission flown on it (headless and through `swarm-ros launch`)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import REPO
from sim.aero import downwash, ground_effect_gain
from sim.rigidbody import RigidBodySwarm
from sim.rigidbody_spec import Aero
from swarm_ros.core.platforms import PLATFORMS, find_platform

DT = 1.0 / 240.0
HOVER_BAND = 0.03     # m: hover holds altitude within +-3 cm of the target once settled


class Drone:
    def __init__(self, platform, start):
        spec = find_platform(platform)
        self.platform, self.vehicle, self.airframe, self.start = platform, spec.vehicle, spec.airframe, start


def pybullet_mission(tmp_path, name="rings", **sim):
    """A shipped mission file with the pybullet backend (and `sim` overrides)."""
    src = REPO / "config" / "missions" / f"{name}.yaml"
    data = yaml.safe_load(src.read_text())
    data["fleet"] = str((src.parent / data["fleet"]).resolve())
    data["world"] = str((src.parent / data["world"]).resolve())
    data.setdefault("sim", {}).update(backend="pybullet", **sim)
    path = tmp_path / f"{name}_pybullet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("aero", [Aero(), Aero(False, False, False)])
def test_hover_holds_altitude_within_band(aero):
    swarm = RigidBodySwarm([Drone("crazyflie_2.1", (0, 0, 0)), Drone("px4_x500", (3, 0, 0))], aero=aero)
    target = swarm.position + [0.0, 0.0, 1.0]
    heights = []
    for k in range(240 * 11):
        swarm.step(1.0 * (target - swarm.position), DT)      # a P position loop on top, as drone nodes fly
        if k >= 240 * 7:               # settled: 7 s after take-off
            heights.append(swarm.position[:, 2].copy())
    heights = np.array(heights)
    assert np.abs(heights - 1.0).max() < HOVER_BAND
    assert np.abs(swarm.position[:, :2] - target[:, :2]).max() < HOVER_BAND
    assert np.degrees(np.arccos(swarm.rotation[:, 2, 2])).max() < 1.0      # level
    swarm.close()


def test_step_responses_stay_within_platform_limits():
    """Commands far beyond the limits, up then down then stop: speeds, climb and descent rates,
    tilt (set by max_accel) and rotor thrust stay within the profile and airframe figures."""
    names = ["crazyflie_2.1", "px4_x500"]
    swarm = RigidBodySwarm([Drone(names[0], (0, 0, 1.0)), Drone(names[1], (5, 0, 2.0))])
    prof = [PLATFORMS[n] for n in names]
    speed, climb, descent, tilt = np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)
    moved = np.zeros(2)
    for k in range(240 * 8):
        cmd = np.array([[30.0, 0, 10.0], [30.0, 0, 10.0]]) if k < 240 * 2 else np.array([[-30.0, 5, -10.0]] * 2)
        if k >= 240 * 4:
            cmd[:] = 0.0
        start = swarm.position.copy()
        swarm.step(cmd, DT)
        moved += np.linalg.norm(swarm.position - start, axis=1)
        v = swarm.velocity
        speed = np.maximum(speed, np.hypot(v[:, 0], v[:, 1]))
        climb, descent = np.maximum(climb, v[:, 2]), np.maximum(descent, -v[:, 2])
        tilt = np.maximum(tilt, np.arccos(np.clip(swarm.rotation[:, 2, 2], -1, 1)))
        assert (swarm.rotor_thrust <= swarm.flight.max_rotor_thrust[:, None] + 1e-12).all()
    for k, p in enumerate(prof):
        assert speed[k] <= 1.05 * p.max_speed and climb[k] <= 1.05 * p.max_climb, names[k]
        assert descent[k] <= 1.05 * p.max_descent, names[k]
        assert tilt[k] <= math.atan(p.max_accel / 9.81) + math.radians(3.0), names[k]
        assert climb[k] > 0.5 * min(p.max_climb, 2.0) and speed[k] > 0.5 * min(p.max_speed, 5.0)   # it did move
    assert np.linalg.norm(swarm.velocity, axis=1).max() < 0.2          # and stopped
    swarm.close()


def test_ground_effect_and_downwash_models():
    r = np.array([find_platform("crazyflie_2.1").airframe.prop_radius])
    gain = ground_effect_gain(np.array([[0.0, 0.01, 0.05, 1.0]]), r)[0]
    assert gain[0] == gain[1] > gain[2] > gain[3] > 1.0 and gain[0] <= 4 / 3 + 1e-12 and gain[3] < 1.001
    # three drones: b 1 m above a, c beside a far away; a wake pushes only the drone below it
    pos = np.array([[0.0, 0, 1], [0.05, 0, 2], [2.9, 0, 1]])
    force = downwash(pos, np.array([0.3, 15.0, 0.3]), np.full(3, 0.1), np.full(3, 0.01))
    assert force[0] > 0.1 and force[1] == 0.0 and force[2] < 1e-6
    # many drones: equals the per-pair formula summed in Python
    rng = np.random.default_rng(3)
    pos = rng.uniform([-2, -2, 0], [2, 2, 4], (40, 3))
    thrust, s0, area = rng.uniform(0.2, 20, 40), rng.uniform(0.05, 0.2, 40), rng.uniform(0.01, 0.2, 40)
    want = np.zeros(40)
    for i in range(40):
        for j in range(40):
            dz = pos[j, 2] - pos[i, 2]
            d2 = np.sum((pos[i, :2] - pos[j, :2]) ** 2)
            if 1e-3 < dz < 10 and d2 < 9:
                s2 = (s0[j] + 0.1 * dz) ** 2
                want[i] += area[i] * thrust[j] * np.exp(-d2 / s2) / (2 * np.pi * s2)
    assert np.allclose(downwash(pos, thrust, s0, area), want, rtol=1e-12, atol=1e-15)


def test_default_mission_flies_on_pybullet_headless(tmp_path):
    from swarm_ros.headless import fly
    from swarm_ros.mission import load_mission
    mission = load_mission(pybullet_mission(tmp_path))
    assert mission.backend == "pybullet" and mission.physics.aero == Aero()
    tilt = []
    sim = fly(mission, on_tick=lambda sim, _c: tilt.append(2 * np.arcsin(np.linalg.norm(sim.orientation[:, :2], axis=1))))
    s = sim.summary()
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    assert all(d["landed"] for d in s["drones"]) and all(d["distance"] > 4 for d in s["drones"])
    # the attitude the odometry carries: the drones tilt to fly, within the profile's tilt bound
    tilt = np.array(tilt)
    bound = np.array([math.atan(d.vehicle.max_accel / 9.81) for d in mission.fleet.drones])
    assert (tilt.max(axis=0) > 0.02).all() and (tilt <= bound + math.radians(3)).all()
    assert np.allclose(np.linalg.norm(sim.orientation, axis=1), 1.0)
    sim.physics.close()


@pytest.mark.parametrize("name", sorted({p.stem for p in (REPO / "config" / "missions").glob("*.yaml")} - {"rings"}))
def test_every_shipped_mission_flies_clean_on_pybullet(tmp_path, name):
    from swarm_ros.headless import fly
    from swarm_ros.mission import load_mission
    sim = fly(load_mission(pybullet_mission(tmp_path, name)))
    s = sim.summary()
    assert s["collisions"] == 0 and s["geofence_violations"] == 0 and all(d["landed"] for d in s["drones"])
    sim.physics.close()


def test_default_mission_flies_on_pybullet_through_launch(tmp_path, ros_env):
    mission = pybullet_mission(tmp_path, speed=0)
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "launch", str(mission), "--no-record",
                          "--run-dir", str(tmp_path / "run"), "--json", str(tmp_path / "summary.json")],
                         capture_output=True, text=True, timeout=300, env=ros_env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["collisions"] == 0 and s["geofence_violations"] == 0 and len(s["drones"]) == 6
    assert all(d["landed"] for d in s["drones"]) and all(d["distance"] > 4 for d in s["drones"])
    assert "pybullet build time" not in out.stdout + out.stderr
