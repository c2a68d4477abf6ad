"""Train a reach-goal MLP policy (control/mlp.py) on SwarmReachEnv with evolution strategies, in numpy.

Why ES: the policy is small (a few hundred weights), the environment is not differentiable, and
ES needs only episode returns, so training is a seeded loop with no autodiff library. Each
iteration samples `population / 2` Gaussian directions, scores the weights moved both ways along
each (antithetic pairs) on the same episodes (common random numbers), ranks the scores and steps
along the rank-weighted directions with Adam.

Score of a set of weights: the mean over drones and episodes of the environment's return; a drone
terminated early (left the arena, touched the ground) is charged `EXIT_PENALTY` per step it
missed, so leaving is never cheaper than staying. Reported alongside: the mean distance to goal at
the end of an episode, on evaluation episodes the training never sees.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm_ros.core.mlp import MLP
from swarm_ros.core.observation import obs_size
from .swarm_env import SwarmReachEnv

EXIT_PENALTY = 1.0     # per step a terminated drone misses (the contact penalty per step)
EVAL_SEED = 10_000     # evaluation episodes use seeds from here; training ones stay below


@dataclass(frozen=True)
class ESConfig:
    n: int = 4                  # drones per episode
    k: int = 2                  # neighbours each observes
    hidden: tuple = (16,)
    biases: bool = False        # without biases a tanh MLP is odd: zero action at the goal at rest, alone
    iterations: int = 100
    population: int = 20        # even: antithetic pairs
    episodes: int = 1           # per candidate and iteration
    sigma: float = 0.1          # exploration noise on the weights
    lr: float = 0.05            # Adam step
    max_steps: int = 360        # 7.5 s at 48 Hz
    arena: float = 3.0          # m, half-width of the training arena
    sensing: float = 3.0        # m, neighbours further away are not seen (recorded in the policy file)
    input_scale: float = 0.5
    eval_episodes: int = 4
    seed: int = 0


def layer_sizes(cfg: ESConfig) -> list[int]:
    return [obs_size(cfg.k), *cfg.hidden, 3]


def unflatten(theta: np.ndarray, sizes: list[int], biases: bool) -> tuple:
    """((W, b), ...) from the flat vector ES searches; b = 0 when biases are not trained."""
    out, at = [], 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        w = theta[at:at + a * b].reshape(b, a)
        at += a * b
        out.append((w, theta[at:at + b] if biases else np.zeros(b)))
        at += b if biases else 0
    return tuple(out)


def initial_weights(sizes: list[int], biases: bool, rng: np.random.Generator) -> np.ndarray:
    """Scaled Gaussian weights (1/sqrt(fan-in)), zero biases."""
    parts = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        parts += [rng.normal(0.0, 1.0 / np.sqrt(a), a * b), np.zeros(b if biases else 0)]
    return np.concatenate(parts)


def to_mlp(theta: np.ndarray, cfg: ESConfig, **info) -> MLP:
    weights = unflatten(np.asarray(theta, float), layer_sizes(cfg), cfg.biases)
    return MLP(weights, cfg.k, "tanh", cfg.input_scale, 1.0, cfg.sensing, info)


def make_env(cfg: ESConfig) -> SwarmReachEnv:
    return SwarmReachEnv(n=cfg.n, k=cfg.k, backend="pointmass", max_steps=cfg.max_steps, arena=cfg.arena,
                         sensing=cfg.sensing)


def rollout(policy, env: SwarmReachEnv, seed: int) -> tuple[float, float]:
    """(mean return per drone, mean final distance to goal) of one episode."""
    obs, infos = env.reset(seed=seed)
    goals = np.array([infos[a]["goal"] for a in env.possible_agents])
    total = {a: 0.0 for a in env.possible_agents}
    steps_left = env.task.spec.max_steps
    while env.agents:
        live = list(env.agents)
        act = policy(np.stack([obs[a] for a in live]))
        obs, rewards, terms, _, _ = env.step({a: act[i] for i, a in enumerate(live)})
        steps_left -= 1
        for a in live:
            total[a] += rewards[a] - (EXIT_PENALTY * steps_left if terms[a] else 0.0)
    final = np.linalg.norm(env.task.physics.position - goals, axis=1).mean()
    return float(np.mean(list(total.values()))), float(final)


def evaluate(policy, env: SwarmReachEnv, seeds) -> tuple[float, float]:
    scores = np.array([rollout(policy, env, int(s)) for s in seeds])
    return float(scores[:, 0].mean()), float(scores[:, 1].mean())


def score_candidates(job: tuple) -> list[float]:
    """Training scores of several weight vectors on the same episodes: `job` = (cfg, thetas,
    seeds). A module-level function of one argument, so a process pool or Ray can run chunks of
    a population in other processes; each chunk builds its own environment, and an episode
    depends only on its seed, so the scores equal those of the serial loop."""
    cfg, thetas, seeds = job
    env = make_env(cfg)
    try:
        return [evaluate(to_mlp(t, cfg), env, seeds)[0] for t in thetas]
    finally:
        env.close()


def _ranks(x: np.ndarray) -> np.ndarray:
    """Centered ranks in [-0.5, 0.5]: the update ignores the scale of the returns."""
    r = np.empty(len(x))
    r[np.argsort(x)] = np.arange(len(x))
    return r / max(len(x) - 1, 1) - 0.5


def train(cfg: ESConfig, log=None, score_many=None) -> tuple[MLP, list[dict]]:
    """The trained policy and the history: per iteration the mean training score, and every
    tenth (and the first and last) the evaluation return and final distance.

    `score_many(cfg, candidates, seeds) -> scores` evaluates the candidates elsewhere (e.g. as
    `score_candidates` jobs on Ray); by default they are scored here, one by one."""
    rng = np.random.default_rng(cfg.seed)
    sizes = layer_sizes(cfg)
    theta = initial_weights(sizes, cfg.biases, rng)
    env = make_env(cfg)
    eval_seeds = range(EVAL_SEED, EVAL_SEED + cfg.eval_episodes)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    history = []
    half = cfg.population // 2
    for it in range(cfg.iterations + 1):
        row = {"iteration": it}
        if it % 10 == 0 or it == cfg.iterations:
            row["eval_return"], row["eval_distance"] = evaluate(to_mlp(theta, cfg), env, eval_seeds)
        if it == cfg.iterations:
            history.append(row)
            if log:
                log(row)
            break
        eps = rng.standard_normal((half, len(theta)))
        seeds = rng.integers(0, EVAL_SEED, cfg.episodes)
        candidates = [theta + cfg.sigma * e for e in eps] + [theta - cfg.sigma * e for e in eps]
        if score_many is None:
            scores = [evaluate(to_mlp(c, cfg), env, seeds)[0] for c in candidates]
        else:
            scores = score_many(cfg, candidates, seeds)
        plus, minus = np.array(scores[:half], float), np.array(scores[half:], float)
        ranks = _ranks(np.concatenate([plus, minus]))
        grad = (ranks[:half] - ranks[half:]) @ eps / (cfg.population * cfg.sigma)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad ** 2
        step = m / (1 - 0.9 ** (it + 1)) / (np.sqrt(v / (1 - 0.999 ** (it + 1))) + 1e-8)
        theta = theta + cfg.lr * step
        row["train_return"] = float(np.concatenate([plus, minus]).mean())
        history.append(row)
        if log:
            log(row)
    env.close()
    info = {"trained_by": f"sim/policy_es.py ES, {cfg.iterations} iterations x {cfg.population} candidates, "
                          f"{cfg.max_steps} steps, n={cfg.n} k={cfg.k} pointmass, biases {cfg.biases}, seed {cfg.seed}"}
    return to_mlp(theta, cfg, **info), history
