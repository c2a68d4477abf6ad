"""`swarm-ros policy train`: train the reach-goal MLP policy (sim/policy_es.py) and write it as a
policy file that `controller: policy` roles fly (control/mlp.py); `swarm-ros policy show` prints
what a policy file holds."""
from __future__ import annotations

import json
from pathlib import Path

from ..core.configfile import ConfigError

WHERE = "swarm-ros policy"


def add_parser(sub) -> None:
    p = sub.add_parser("policy", help="train or inspect MLP policy files (controller: policy)")
    psub = p.add_subparsers(dest="policy_command", required=True)
    t = psub.add_parser("train", help="train a reach-goal policy with evolution strategies (numpy)")
    t.add_argument("--out", required=True, help="policy file to write (.safetensors)")
    t.add_argument("--iterations", type=int, default=100)
    t.add_argument("--population", type=int, default=20, help="candidates per iteration (even)")
    t.add_argument("--episodes", type=int, default=1, help="episodes per candidate and iteration")
    t.add_argument("--k", type=int, default=2, help="neighbours in each observation")
    t.add_argument("--hidden", type=int, nargs="+", default=[16], help="hidden layer widths")
    t.add_argument("--max-steps", type=int, default=360, help="steps per episode (48 Hz)")
    t.add_argument("--biases", action="store_true", help="train biases too (default: none, an odd network)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--json", help="write the training history to this JSON file")
    t.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="score each iteration's candidates as Ray tasks: on a local Ray (loopback, started and "
                   "stopped here), or the cluster at ADDRESS (ray://HOST:PORT or auto); same result as without")
    t.add_argument("--workers", type=int, help="with --ray and no ADDRESS: tasks at a time (default: the cores)")
    t.set_defaults(func=cmd_train)
    s = psub.add_parser("show", help="print a policy file's layout and metadata")
    s.add_argument("file", help="a policy file, or the name of an installed one (e.g. reach_k2)")
    s.set_defaults(func=cmd_show)


def _check(args) -> None:
    for name, lo in (("iterations", 1), ("population", 2), ("episodes", 1), ("max_steps", 10), ("k", 0), ("seed", 0)):
        if getattr(args, name) < lo:
            raise ConfigError(WHERE, f"--{name}", f"got {getattr(args, name)}", f"an integer >= {lo}")
    if args.population % 2:
        raise ConfigError(WHERE, "--population", f"got {args.population}", "an even number (antithetic pairs)")
    if min(args.hidden) < 1:
        raise ConfigError(WHERE, "--hidden", f"got {args.hidden}", "widths >= 1")
    if args.workers is not None and (args.workers < 1 or args.ray != "local"):
        raise ConfigError(WHERE, "--workers", f"got {args.workers}", "an integer >= 1, with --ray and no address")
    if not args.out.endswith(".safetensors"):
        raise ConfigError(WHERE, "--out", f"got {args.out!r}", "a file name ending in .safetensors")


def cmd_train(args, console) -> int:
    _check(args)
    from sim.policy_es import ESConfig, train
    cfg = ESConfig(k=args.k, hidden=tuple(args.hidden), iterations=args.iterations, population=args.population,
                   episodes=args.episodes, max_steps=args.max_steps, biases=args.biases, seed=args.seed)

    def log(row):
        if "eval_return" in row:
            console.print(f"iteration {row['iteration']:4d}: eval return {row['eval_return']:8.2f}, "
                          f"final distance to goal {row['eval_distance']:.3f} m")
    if args.ray is None:
        mlp, history = train(cfg, log)
    else:
        from ..sweep.distributed import ChunkedScorer
        from ..sweep.engines import INSTALL_HINT, ClusterUnreachable, open_engine
        from sim.policy_es import score_candidates
        try:
            engine = open_engine(None if args.ray == "local" else args.ray, args.workers, allow_pool=False)
        except ImportError:
            raise ConfigError(WHERE, "--ray", "Ray is not installed", INSTALL_HINT) from None
        except ClusterUnreachable as err:
            raise ConfigError(WHERE, "--ray", str(err), "a running Ray cluster's address, or --ray alone") from None
        try:
            console.print(f"scoring candidates on Ray ({'local, 127.0.0.1' if engine.local else args.ray}), "
                          f"{engine.workers} tasks per iteration")
            mlp, history = train(cfg, log, ChunkedScorer(engine, score_candidates))
        finally:
            engine.close()
    out = mlp.save(args.out)
    console.print(f"wrote {out} (layers {mlp.sizes}, k = {mlp.k}, neighbours within {mlp.sensing:g} m)")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
                                               "history": history}, indent=1))
    return 0


def cmd_show(args, console) -> int:
    from ..core.mlp import PolicyFileError, load_mlp
    from ..core.resources import find_policy
    path = find_policy(args.file)
    try:
        mlp = load_mlp(path)
    except PolicyFileError as err:
        raise ConfigError(path, "", str(err), "a safetensors MLP policy file") from None
    console.print(f"{path}: layers {mlp.sizes}, k = {mlp.k}, activation {mlp.activation}, "
                  f"input_scale {mlp.input_scale:g}, action_scale {mlp.action_scale:g}, "
                  f"neighbours within {mlp.sensing:g} m", soft_wrap=True)
    for key, value in mlp.info.items():
        console.print(f"  {key}: {value}")
    return 0
