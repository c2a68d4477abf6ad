"""SwarmSync against SOUL and Gossip: completion time per seed and overhead on the same simulated network.

    python bench/bench_swarmsync.py                  # N = 50 .. 1000, loss 0 and 0.3, 3 seeds: about 1 h (loaded)
    python bench/bench_swarmsync.py --quick          # N = 50, 100, loss 0 and 0.3, 1 seed: a few minutes
    python bench/bench_swarmsync.py --sizes 250 --seeds 3 --losses 0.3 --json /tmp/ss.json
    python bench/bench_swarmsync.py --sizes 1000 --strategies swarmsync,soul   # leave out Gossip (1.5-3 min a run at N = 1000)

Every strategy runs the same scenario per seed (firmware_update/scenario.py): the same fleet
(cf / x500 drones alternating, three roles), the same patrol flight, the same radio (60 m range,
1 Mbit/s shared channel with carrier sense and hidden-terminal collisions, 2 ms latency, the
same loss per link) and the same 64 KiB patch targeted at `type=cf` (half the swarm) from a
ground station at the centre. Completion = time until every targeted drone holds the verified
blob; bytes are counted up to that moment.

Targets, checked per seed against the peers' runs on the same seed: SwarmSync completes at
least 25 % sooner than SOUL and at least 70 % sooner than Gossip, and sends fewer bytes than
Gossip. Each row says met or MISSED beside the figure.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, single_thread_env, table, write_json  # noqa: E402

single_thread_env()

from firmware_update.scenario import Scenario, run  # noqa: E402

NAME = "bench_swarmsync"
ORDER = ("swarmsync", "soul", "gossip")
GOAL = {"soul": 25.0, "gossip": 70.0}     # % sooner than the peer, every seed


def faster(ours, peer) -> float | None:
    """Per cent less completion time than the peer (None when either did not complete)."""
    return None if ours is None or peer is None else 100.0 * (1.0 - ours / peer)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50,100,250,500,1000")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--losses", default="0,0.3", help="loss probabilities per link, comma-separated")
    ap.add_argument("--size", type=int, default=65536, help="patch bytes")
    ap.add_argument("--strategies", default=",".join(ORDER),
                    help="which to run (swarmsync always); a target whose peer is left out reads '-'")
    ap.add_argument("--quick", action="store_true", help="N = 50, 100 and one seed")
    ap.add_argument("--json")
    args = ap.parse_args()
    sizes = [50, 100] if args.quick else [int(x) for x in args.sizes.split(",")]
    seeds = 1 if args.quick else args.seeds
    losses = [float(x) for x in args.losses.split(",")]
    chosen = [k for k in ORDER if k == "swarmsync" or k in args.strategies.split(",")]
    results: dict = {}
    rows, summary = [], []
    for loss in losses:
        for n in sizes:
            per = {}
            for seed in range(seeds):
                per[seed] = {}
                for strategy in chosen:
                    r = run(Scenario(drones=n, strategy=strategy, loss=loss, size=args.size, seed=seed))
                    r.pop("by_kind", None)
                    per[seed][strategy] = r
                    print(f"  loss {loss:g} N = {n:5d} seed {seed} {strategy:9s}: "
                          f"{_f(r['convergence_s'])} s, {r['bytes_sent'] / 1e6:.2f} MB, wall {r['wall_s']:.1f} s",
                          flush=True)
                rows.append(_row(loss, n, seed, per[seed]))
            results.setdefault(f"{loss:g}", {})[str(n)] = {str(k): v for k, v in per.items()}
            summary.append(_summary(loss, n, per))
    print()
    print(table(["loss", "N", "seed", "SwarmSync s", "SOUL s", "Gossip s", "vs SOUL (>= 25 %)", "",
                 "vs Gossip (>= 70 %)", "", "MB ours / SOUL / Gossip", "bytes < Gossip"], rows,
                title=f"patch dissemination, {args.size} B to type=cf (half the swarm): completion per seed"))
    print()
    print(table(["loss", "N", "all seeds >= 25 % vs SOUL", "all seeds >= 70 % vs Gossip", "bytes < Gossip",
                 "worst vs SOUL", "worst vs Gossip"], summary,
                title="targets (every seed must meet them; paper at N = 500: 78.3 % faster than SOUL)"))
    write_json(NAME, {"machine": machine_info(), "sizes": sizes, "seeds": seeds, "losses": losses,
                      "patch_bytes": args.size, "goal_pct_faster": GOAL, "scenario_defaults": asdict(Scenario()),
                      "summary": [dict(zip(("loss", "N", "soul", "gossip", "bytes", "worst_soul_pct",
                                            "worst_gossip_pct"), s)) for s in summary],
                      "results": results}, args.json)


def _checks(r: dict) -> dict:
    ours = r["swarmsync"]
    out = {k: faster(ours["convergence_s"], r[k]["convergence_s"]) if k in r else None for k in GOAL}
    out["bytes"] = ours["bytes_sent"] < r["gossip"]["bytes_sent"] if "gossip" in r else None
    return out


def _row(loss, n, seed, r) -> list:
    c = _checks(r)
    return [f"{loss:g}", n, seed, *(_f(r[k]["convergence_s"]) if k in r else "-" for k in ORDER),
            _pct(c["soul"]), verdict(None if c["soul"] is None else c["soul"] >= GOAL["soul"]),
            _pct(c["gossip"]), verdict(None if c["gossip"] is None else c["gossip"] >= GOAL["gossip"]),
            " / ".join(f"{r[k]['bytes_sent'] / 1e6:.2f}" if k in r else "-" for k in ORDER), verdict(c["bytes"])]


def _summary(loss, n, per) -> list:
    checks = [_checks(r) for r in per.values()]
    worst = {k: min((c[k] for c in checks), default=None) if all(c[k] is not None for c in checks) else None
             for k in GOAL}
    ok = {k: None if worst[k] is None else worst[k] >= GOAL[k] for k in GOAL}
    fewer = None if any(c["bytes"] is None for c in checks) else all(c["bytes"] for c in checks)
    return [f"{loss:g}", n, verdict(ok["soul"]), verdict(ok["gossip"]), verdict(fewer),
            _pct(worst["soul"]), _pct(worst["gossip"])]


def _f(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:+.1f} %"


if __name__ == "__main__":
    main()
