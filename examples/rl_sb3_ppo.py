"""Stable-Baselines3 PPO on the project's Gymnasium environment: one drone learns to fly to a
random goal (sim/gym_env.py), the policy is saved, loaded back and flown for one episode.

    pip install torch==2.13.0 && pip install -e '.[rl]'
    python examples/rl_sb3_ppo.py --timesteps 100000 --out runs/ppo_reach.zip

Prints the episode's figures as JSON. The environment's observation is the same local
observation a drone builds from its radio beacons, so `model.predict` can fly missions behind
swarm_ros.control.policy.PolicyController.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def make_env(backend: str = "pointmass"):
    from sim.gym_env import DroneReachEnv
    return DroneReachEnv(backend=backend)


def train(timesteps: int, out: Path, seed: int = 0, backend: str = "pointmass"):
    """PPO with SB3's defaults, except a rollout no longer than the budget (so a tiny budget
    trains on what it collected instead of collecting SB3's default 2048 steps). The training
    curve goes to <out>_log/progress.csv (SB3 would otherwise leave a folder in /tmp per run)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure
    env = make_env(backend)
    n_steps = max(64, min(2048, timesteps))
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=64, seed=seed, device="cpu", verbose=0)
    model.set_logger(configure(str(out.with_suffix("")) + "_log", ["csv"]))
    model.learn(total_timesteps=timesteps)
    model.save(out)
    env.close()
    return model


def fly_episode(path: Path, seed: int = 0, backend: str = "pointmass") -> dict:
    """Load the saved policy and fly one episode with its deterministic actions."""
    from stable_baselines3 import PPO
    model = PPO.load(path, device="cpu")
    env = make_env(backend)
    obs, _ = env.reset(seed=seed)
    start = float(np.linalg.norm(obs[:3]))
    total, steps, done = 0.0, 0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)
        total, steps, done = total + reward, steps + 1, terminated or truncated
    env.close()
    return {"steps": steps, "return": total, "start_distance": start, "final_distance": info["distance"],
            "terminated": bool(terminated)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timesteps", type=int, default=100_000, help="training budget in environment steps")
    p.add_argument("--out", type=Path, default=Path("runs/ppo_reach.zip"), help="where the policy is saved")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("pointmass", "pybullet"), default="pointmass")
    args = p.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    train(args.timesteps, args.out, args.seed, args.backend)
    print(json.dumps({"policy": str(args.out), **fly_episode(args.out, args.seed, args.backend)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
