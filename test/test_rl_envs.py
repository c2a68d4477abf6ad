"""RL environments: Gymnasium's and PettingZoo's own API checkers, a scripted policy that solves
the task through the same local observations, and that policy flying through the controller
contract with the numbers the environment gives."""
from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from sim.gym_env import DroneReachEnv
from sim.swarm_env import SwarmReachEnv
from swarm_ros.control.contract import Neighbours, Observations, make_beacon
from swarm_ros.control.policy import PolicyController, goal_seeking_policy
from swarm_ros.core.observation import local_observation, to_velocity
from swarm_ros.core.platforms import PLATFORMS


@pytest.mark.parametrize("backend", ["pybullet", "pointmass"])
def test_envs_pass_the_api_checkers(backend):
    env = DroneReachEnv(backend=backend)
    check_env(env, skip_render_check=True)
    env.close()
    penv = SwarmReachEnv(n=5, k=3, backend=backend)
    parallel_api_test(penv, num_cycles=100)
    penv.close()


def test_scripted_policy_reaches_the_goal_single_drone():
    env = DroneReachEnv(backend="pybullet", max_steps=720)    # 15 s: 6 m at <= 1 m/s, then settle
    obs, info = env.reset(seed=4)
    start = np.linalg.norm(obs[:3])
    policy = goal_seeking_policy(k=0)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs[None])[0])
        done = terminated or truncated
    assert not terminated and start > 1.0 and info["distance"] < 0.1
    env.close()


def test_scripted_policy_beats_doing_nothing_in_the_swarm_env():
    def run(policy):
        env = SwarmReachEnv(n=6, k=3, backend="pybullet", max_steps=480)
        obs, _ = env.reset(seed=7)
        total = 0.0
        while env.agents:
            acts = policy(np.array([obs[a] for a in env.agents]))
            obs, rew, term, trunc, _ = env.step(dict(zip(env.agents, acts)))
            total += sum(rew.values())
        dist = np.linalg.norm(env.task.physics.position - env.task.goal, axis=1)
        env.close()
        return total, dist, term
    total, dist, term = run(goal_seeking_policy(k=3))
    idle_total, idle_dist, _ = run(lambda o: np.zeros((len(o), 3)))
    assert not any(term.values()) and dist.max() < 0.3 and idle_dist.min() > 0.3
    assert total > idle_total


@pytest.mark.parametrize("sensing", [50.0, 3.0])
def test_policy_controller_flies_the_env_policy_through_the_contract(sensing):
    """Same state, same neighbours: PolicyController (beacons -> Neighbours) commands exactly
    the velocities the environment's observation path gives; with a short sensing range both
    leave out the same far neighbours (every drone hears every other over the radio)."""
    env = SwarmReachEnv(n=6, k=3, backend="pointmass", sensing=sensing)
    obs, _ = env.reset(seed=2)
    task, policy = env.task, goal_seeking_policy(k=3)
    pos, vel = task.physics.position.copy(), task.physics.velocity.copy()
    vel += np.random.default_rng(0).normal(0, 0.3, vel.shape)
    task.physics.velocity[:] = vel
    want = to_velocity(policy(task.observe()), task.scale)
    n = len(pos)
    senders = [j for i in range(n) for j in range(n) if j != i]          # every drone heard every other
    beacons = [make_beacon(pos[j], vel[j], 0.07, 0) for j in senders]
    nb = Neighbours.from_beacons([n - 1] * n, senders, [0.0] * len(senders), beacons)
    senses = None              # this policy uses no obstacle sensing
    ctrl = PolicyController(policy, task.goal, 3, [PLATFORMS["crazyflie_2.1"]] * n, pos, sensing=sensing)
    got = ctrl.step_batch(Observations(0.0, pos, vel, nb, senses))
    assert np.allclose(got, want, atol=1e-5)
    assert np.array_equal(ctrl.observe(Observations(0.0, pos, vel, nb, senses)), task.observe())


def test_local_observation_keeps_the_k_nearest_in_order():
    pos = np.array([[0.0, 0, 0], [3, 0, 0], [1, 0, 0], [2, 0, 0]])
    vel = np.zeros((4, 3))
    # drone 0 hears 1, 2, 3 (out of order); the others hear nobody
    obs = local_observation(pos[:1], vel[:1], np.ones((1, 3)), np.array([0, 3]), pos[[1, 2, 3]], vel[[1, 2, 3]], 2)
    assert obs.shape == (1, 18) and obs.dtype == np.float32
    assert obs[0, 6:9].tolist() == [1, 0, 0] and obs[0, 12:15].tolist() == [2, 0, 0]
    none = local_observation(pos, vel, pos, np.zeros(5, np.intp), np.zeros((0, 3)), np.zeros((0, 3)), 2)
    assert not none[:, 6:].any()
