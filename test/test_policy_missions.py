"""`controller: policy`: MLP policy files (numpy, safetensors), the shipped trained policy flying its
mission, and the evolution-strategies trainer learning from a tiny budget."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.policy_es import ESConfig, train
from swarm_ros.control.contract import Neighbours, Observations, make_beacon
from swarm_ros.core.mlp import MLP, PolicyFileError, load_mlp
from swarm_ros.control.policy import PolicyController
from swarm_ros.core.observation import obs_size
from swarm_ros.headless import fly
from swarm_ros.mission import load_mission
from swarm_ros.core.platforms import PLATFORMS

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config" / "policies" / "reach_k2.safetensors"
GOAL_TOLERANCE = 0.05      # m from its goal at the end of the task phase


def _direct(weights, obs, input_scale, action_scale, hidden):
    """The MLP written out by hand, layer by layer (no shared code with mlp.py)."""
    (w0, b0), (w1, b1), (w2, b2) = weights
    x = obs * input_scale
    h1 = hidden(np.einsum("oi,ni->no", w0, x) + b0)
    h2 = hidden(np.einsum("oi,ni->no", w1, h1) + b1)
    return np.clip(action_scale * np.tanh(np.einsum("oi,ni->no", w2, h2) + b2), -1, 1)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_loaded_policy_equals_direct_numpy_evaluation(tmp_path, activation):
    rng = np.random.default_rng(7)
    k, sizes = 3, [obs_size(3), 12, 8, 3]
    weights = tuple((rng.normal(0, 0.5, (b, a)).astype(np.float32), rng.normal(0, 0.2, b).astype(np.float32))
                    for a, b in zip(sizes[:-1], sizes[1:]))
    path = MLP(weights, k, activation, 0.4, 0.8, 2.5, {"trained_by": "test"}).save(tmp_path / "p.safetensors")
    mlp = load_mlp(path)
    assert (mlp.k, mlp.activation, mlp.input_scale, mlp.action_scale, mlp.sensing, mlp.info) == \
        (k, activation, 0.4, 0.8, 2.5, {"trained_by": "test"})
    obs = rng.normal(0, 3, (50, obs_size(k)))
    hidden = np.tanh if activation == "tanh" else (lambda z: np.where(z > 0, z, 0.0))
    want = _direct([(w.astype(float), b.astype(float)) for w, b in weights], obs, 0.4, 0.8, hidden)
    np.testing.assert_allclose(mlp(obs), want, rtol=1e-12, atol=1e-12)
    assert np.abs(want).max() <= 0.8 and np.abs(want).max() > 0.3


def test_bad_policy_files_say_what_is_wrong(tmp_path):
    rng = np.random.default_rng(0)
    good = ((rng.normal(size=(4, obs_size(1))), np.zeros(4)), (rng.normal(size=(3, 4)), np.zeros(3)))
    nan = ((good[0][0] * np.nan, good[0][1]), good[1])
    cases = {"not found": tmp_path / "missing.safetensors",
             "is not one of tanh, relu": MLP(good, 1, "sigmoid").save(tmp_path / "a.safetensors"),
             "expected [out, 6]": MLP(good, 0).save(tmp_path / "b.safetensors"),
             "NaN": MLP(nan, 1).save(tmp_path / "c.safetensors"),
             "action_scale": MLP(good, 1, action_scale=2.0).save(tmp_path / "d.safetensors")}
    for fragment, path in cases.items():
        with pytest.raises(PolicyFileError, match=fragment.replace("[", r"\[")):
            load_mlp(path)
    for args, fragment in ((["show", str(tmp_path / "b.safetensors")], "expected [out, 6]"),
                           (["train", "--out", str(tmp_path / "p.safetensors"), "--population", "3"], "--population")):
        out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "policy", *args],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert len(out.stderr.splitlines()) == 1 and fragment in out.stderr, out.stderr


def test_policy_controller_leaves_out_neighbours_beyond_the_training_range():
    """Neighbours 2 m and 4 m away; the policy was trained seeing only those within 3 m."""
    vehicles = [PLATFORMS["crazyflie_2.1"]]
    beacons = [make_beacon((2, 0, 1), (0, 1, 0), 0.07, 0), make_beacon((0, 4, 1), (1, 0, 0), 0.07, 0)]
    obs = Observations(0.0, np.array([[0.0, 0, 1]]), np.zeros((1, 3)),
                       Neighbours.from_beacons([2], [1, 2], [0.0, 0.0], beacons), None)
    home = np.zeros((1, 3))
    near_only = PolicyController(None, [(1, 0, 1)], 2, vehicles, home, sensing=3.0).observe(obs)[0]
    both = PolicyController(None, [(1, 0, 1)], 2, vehicles, home).observe(obs)[0]
    assert near_only[6:12].tolist() == [2, 0, 0, 0, 1, 0] and not near_only[12:].any()
    assert both[12:18].tolist() == [0, 4, 0, 1, 0, 0] and both[:12].tolist() == near_only[:12].tolist()


def test_shipped_policy_flies_its_mission_to_the_goals_without_collisions():
    m = load_mission(REPO / "config" / "missions" / "policy_reach.yaml")
    goals = {name: np.array(d.start, float) + np.array(m.roles[d.role].params.goal)
             for name, d in ((d.name, d) for d in m.fleet.drones)}
    end_task = []

    def watch(sim, cmd):
        if not end_task and sim.t >= m.phases.task_end - 1e-9:
            end_task.append(sim.position.copy())
    s = fly(m, on_tick=watch).summary()
    assert s["collisions"] == 0 and s["geofence_violations"] == 0
    miss = np.linalg.norm(end_task[0] - np.array([goals[d.name] for d in m.fleet.drones]), axis=1)
    assert miss.max() < GOAL_TOLERANCE, miss


def test_es_training_improves_the_return_from_a_tiny_budget():
    """15 iterations of 8 candidates on 2-drone, 3 s episodes (a few seconds): the return on held-out
    episodes rises by a quarter and the final distance to goal falls by a quarter."""
    cfg = ESConfig(n=2, k=1, hidden=(8,), iterations=15, population=8, max_steps=144, eval_episodes=3, seed=3)
    mlp, history = train(cfg)
    first, last = history[0], history[-1]
    assert last["eval_return"] > first["eval_return"] + 0.25 * abs(first["eval_return"]), (first, last)
    assert last["eval_distance"] < 0.75 * first["eval_distance"], (first, last)
    assert mlp.sizes == [obs_size(1), 8, 3]
