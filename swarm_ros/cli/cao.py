"""`swarm-ros cao testbed NAME ...`: reproduce a reference CAO run and print its final cost."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..core.configfile import ConfigError, show


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def read_initial_positions(path: str, testbed, robots: int):
    """A JSON list of `robots` decisions inside the testbed's box (ConfigError otherwise)."""
    import numpy as np
    shape = f"a list of {robots} lists of {testbed.d} numbers"
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigError(path, "", f"cannot read the initial positions ({err.strerror})", shape) from None
    except json.JSONDecodeError as err:
        raise ConfigError(path, "", f"not JSON ({err.msg} at line {err.lineno})", shape) from None
    try:
        x = np.array(data, dtype=float)
    except (TypeError, ValueError):
        x = np.zeros(0)
    if x.ndim != 2 or x.shape[1] != testbed.d or not np.isfinite(x).all():
        raise ConfigError(path, "", f"got {show(data)}", shape)
    if len(x) != robots:
        raise ConfigError(path, "", f"{len(x)} positions for --robots {robots}", shape)
    outside = ~testbed.feasible(x)
    if outside.any():
        k = int(np.argmax(outside))
        raise ConfigError(path, f"[{k}]", f"{x[k].tolist()} is outside the testbed",
                          f"a point within {list(testbed.lo)} .. {list(testbed.hi)}")
    return x


def cmd_testbed(args, console) -> int:
    import numpy as np
    from ..control.cao_reference import TESTBEDS
    from ..control.cao_testbed import optimise
    if args.name not in TESTBEDS:
        raise ConfigError("swarm-ros cao testbed", "NAME", f"unknown testbed {args.name!r}", "one of " + ", ".join(sorted(TESTBEDS)))
    testbed = TESTBEDS[args.name]()
    if args.initial_positions:
        x0 = read_initial_positions(args.initial_positions, testbed, args.robots)
    else:
        x0 = testbed.initial(args.robots, np.random.default_rng(args.seed))
    iterations = args.iterations or testbed.iterations
    t0 = time.perf_counter()
    with console.status(f"CAO on {args.name}: {args.robots} robots, {iterations} iterations"):
        run = optimise(testbed, x0, iterations=iterations, seed=args.seed)
    seconds = time.perf_counter() - t0
    console.print(f"{args.name}: {args.robots} robots, {iterations} iterations, seed {args.seed}: "
                  f"J(0) = {run.costs[0]:.4f}, final J({iterations - 1}) = {run.final_cost:.4f}  ({seconds:.2f} s)")
    if args.json:
        out = {"testbed": args.name, "robots": args.robots, "iterations": iterations, "seed": args.seed,
               "final_cost": run.final_cost, "costs": run.costs, "initial_positions": x0.tolist(),
               "final_positions": run.decisions[-1].tolist(), "seconds": seconds}
        try:
            Path(args.json).write_text(json.dumps(out, indent=1))
        except OSError as err:
            raise ConfigError(args.json, "", f"cannot write the cost history ({err.strerror})") from None
    return 0


def add_parser(sub) -> None:
    cao = sub.add_parser("cao", help="the CAO plug-n-play optimiser: reference testbeds")
    cao_sub = cao.add_subparsers(dest="cao_command", required=True)
    p = cao_sub.add_parser("testbed", help="run a reference testbed and print its final cost")
    p.add_argument("name", help="reference testbed, e.g. HoldTheLine (an unknown name lists them)")
    p.add_argument("--robots", type=_positive_int, required=True, help="number of robots N")
    p.add_argument("--initial-positions", help="JSON file: a list of N [x, y] start decisions (default: random)")
    p.add_argument("--iterations", type=_positive_int, help="iterations T (default: the testbed's)")
    p.add_argument("--seed", type=int, default=0, help="random seed of candidates (and of random starts)")
    p.add_argument("--json", help="write the cost history and final positions to this file")
    p.set_defaults(func=cmd_testbed)
