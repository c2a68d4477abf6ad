"""SwarmSync against Gossip and SOUL: convergence time and overhead on the same simulated network.

    python bench/bench_swarmsync.py                  # N = 50, 100, 500, 1000, 2 seeds: about 10 min
    python bench/bench_swarmsync.py --quick          # N = 50, 100, 500, 1 seed: about 1 min
    python bench/bench_swarmsync.py --sizes 100 --seeds 3 --loss 0.3 --json /tmp/ss.json

Every strategy runs the same scenario per seed (firmware_update/scenario.py): the same fleet
(cf / x500 drones alternating, three roles), the same patrol flight, the same radio (60 m range,
1 Mbit/s shared channel with carrier sense and hidden-terminal collisions, 2 ms latency) and the
same 64 KiB patch targeted at `type=cf` (half the swarm, three sub-swarms) from a ground station
at the centre. Convergence = time until every targeted drone holds the verified blob; bytes,
messages and energy are counted up to that moment. Figures are medians over seeds; the
comparison columns are ratios of SwarmSync's medians to each peer's, from the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, single_thread_env, table, write_json  # noqa: E402

single_thread_env()

from firmware_update.scenario import STRATEGIES, Scenario, run  # noqa: E402

NAME = "bench_swarmsync"
FIELDS = ("convergence_s", "t95_s", "bytes_sent", "messages_sent", "energy_mean", "wall_s")


def med(runs: list[dict], key: str):
    vals = [r[key] for r in runs if r[key] is not None]
    return statistics.median(vals) if len(vals) == len(runs) else None


def pct_faster(ours, peer) -> str:
    return "-" if ours is None or peer is None else f"{100 * (1 - ours / peer):+.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50,100,500,1000")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--size", type=int, default=65536, help="patch bytes")
    ap.add_argument("--quick", action="store_true", help="N = 50, 100, 500 and one seed")
    ap.add_argument("--json")
    args = ap.parse_args()
    sizes = [50, 100, 500] if args.quick else [int(x) for x in args.sizes.split(",")]
    seeds = 1 if args.quick else args.seeds
    results: dict = {}
    rows = []
    for n in sizes:
        for strategy in STRATEGIES:
            runs = []
            for seed in range(seeds):
                r = run(Scenario(drones=n, strategy=strategy, loss=args.loss, size=args.size, seed=seed))
                r.pop("by_kind", None)
                runs.append(r)
                print(f"  N = {n:5d} {strategy:9s} seed {seed}: converged {r['converged']} "
                      f"in {r['convergence_s'] or float('nan'):.2f} s, {r['bytes_sent'] / 1e6:.2f} MB, "
                      f"wall {r['wall_s']:.1f} s", flush=True)
            m = {k: med(runs, k) for k in FIELDS}
            results.setdefault(str(n), {})[strategy] = {"median": m, "runs": runs}
            rows.append([n, strategy, f"{sum(r['converged'] for r in runs)}/{len(runs)}",
                         _f(m["convergence_s"]), _f(m["t95_s"]), _f(m["bytes_sent"], 1e6), m["messages_sent"],
                         _f(m["energy_mean"], 1e3, 0), _f(m["wall_s"], 1, 1)])
    print()
    print(table(["N", "strategy", "converged", "convergence s", "95 % done s", "MB sent", "messages",
                 "energy kB/drone", "wall s"], rows,
                title=f"patch dissemination, {args.size} B to type=cf (half the swarm), loss {args.loss:g}, "
                      f"medians of {seeds} seed(s)"))
    cmp_rows = []
    for n in sizes:
        s, g, o = (results[str(n)][k]["median"] for k in ("swarmsync", "gossip", "soul"))
        cmp_rows.append([n, pct_faster(s["convergence_s"], g["convergence_s"]),
                         pct_faster(s["convergence_s"], o["convergence_s"]),
                         _ratio(s["bytes_sent"], g["bytes_sent"]), _ratio(s["bytes_sent"], o["bytes_sent"]),
                         _ratio(s["messages_sent"], g["messages_sent"]),
                         _ratio(s["messages_sent"], o["messages_sent"])])
    print()
    print(table(["N", "faster vs Gossip", "faster vs SOUL", "bytes / Gossip", "bytes / SOUL", "msgs / Gossip",
                 "msgs / SOUL"], cmp_rows,
                title="SwarmSync against its peers (goal: faster than both, bytes below Gossip's; "
                      "paper at N = 500: 47.7 % / 78.3 % faster, +19.7 % / +87.7 % overhead)"))
    base = Scenario()
    write_json(NAME, {"machine": machine_info(), "sizes": sizes, "seeds": seeds, "loss": args.loss,
                      "patch_bytes": args.size, "scenario_defaults": asdict(base), "results": results}, args.json)


def _f(x, scale=1.0, digits=2) -> str:
    return "-" if x is None else f"{x / scale:.{digits}f}"


def _ratio(a, b) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


if __name__ == "__main__":
    main()
