"""How soon drones rejoin after their host's link was down, for gaps shorter and longer than
the DDS participant lease (20 s), with simple discovery and with a Discovery Server.

    python bench/bench_rejoin.py                          # gaps 10 and 30 s x both discoveries, about 5 min
    python bench/bench_rejoin.py --gaps 30 --modes server # one point, about 1 min

Each point flies rings in real time (`--speed 1`) through `swarm-ros launch --hosts 3`, no bag,
with host 1's link (three of the six drones) down from t=START for GAP s; the mission lasts
until AFTER s past the link coming up. Measured per drone of host 1: the rejoin delay, from the
link coming up (mission time the launcher brought it up) to the simulator's `back` event (its
first command from the drone since the loss), in mission seconds, which at `--speed 1` are
wall seconds. Peer: the 10 s gap (shorter than the lease, nothing rediscovered) in the same
run. Needs root (network namespaces); ROS_DOMAIN_ID picks the domain (default 90).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, ratio, table, write_json  # noqa: E402

NAME = "bench_rejoin"
REPO = Path(__file__).resolve().parents[1]
RINGS = REPO / "config" / "missions" / "rings.yaml"
MODES = ("simple", "server")
HOST = 1


def mission_file(folder: Path, duration: float) -> Path:
    """rings lasting `duration` s (its fleet and world by absolute path)."""
    m = yaml.safe_load(RINGS.read_text())
    m["fleet"] = str((RINGS.parent / m["fleet"]).resolve())
    m["world"] = str((RINGS.parent / m["world"]).resolve())
    m["duration"] = duration
    path = folder / "rings.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


def fly(gap: float, mode: str, folder: Path, start: float, after: float, domain: int) -> dict:
    folder.mkdir(parents=True)
    mission = mission_file(folder, start + gap + after)
    cmd = [sys.executable, "-m", "swarm_ros.cli", "launch", str(mission), "--speed", "1", "--hosts", "3",
           "--discovery", mode, "--lost-after", "2", "--link-down", f"{HOST}:{start:g}-{start + gap:g}",
           "--no-record", "--run-dir", str(folder / "run"), "--json", str(folder / "summary.json")]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=folder,
                         env=dict(os.environ, ROS_DOMAIN_ID=str(domain), COLUMNS="160"))
    point = {"gap_s": gap, "mode": mode, "exit": run.returncode, "wall_s": time.perf_counter() - t0, "drones": {}}
    summary = folder / "summary.json"
    if not summary.is_file():
        point["error"] = run.stdout[-2000:] + run.stderr[-2000:]
        return point
    s = json.loads(summary.read_text())
    up = next((f["t"] for f in s["hosts"]["faults"] if f["event"] == "link up"), None)
    point["up_t"] = up
    for name, host in s["hosts"]["drone_hosts"].items():
        if host != HOST:
            continue
        loss = next((e for e in s["lost"] if e["name"] == name), None)
        back = loss["rejoined"] if loss else None
        point["drones"][name] = {"lost_t": loss["t"] if loss else None, "rejoined_t": back,
                                 "delay_s": round(back - up, 2) if back is not None and up is not None else None}
    delays = [d["delay_s"] for d in point["drones"].values()]
    point["all_rejoined"] = bool(delays) and None not in delays
    point["max_delay_s"] = max(delays) if point["all_rejoined"] else None
    point["left_after_up_s"] = s["sim_time"] - up if up is not None else None
    return point


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gaps", default="10,30", help="link-down spans in s, comma-separated (default 10,30)")
    ap.add_argument("--modes", default=",".join(MODES), help="simple,server (default both)")
    ap.add_argument("--start", type=float, default=5.0, help="mission s the link goes down (default 5)")
    ap.add_argument("--after", type=float, default=10.0, help="mission s flown after the link is up (default 10)")
    ap.add_argument("--json", metavar="PATH", help=f"also write the results here (always bench/results/{NAME}.json)")
    args = ap.parse_args(argv)
    try:
        gaps = [float(g) for g in args.gaps.split(",") if g.strip()]
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        if not gaps or min(gaps) <= 0 or set(modes) - set(MODES):
            raise ValueError
    except ValueError:
        print("error: --gaps takes S,S,.. (S > 0), --modes simple,server", file=sys.stderr)
        return 2
    from swarm_ros.netns import unavailable
    reason = unavailable()
    if reason:
        print(f"error: {NAME} needs separate hosts: {reason}", file=sys.stderr)
        return 2
    info = machine_info()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "90"))
    print(f"{NAME}: load average {info.get('load_average_1min', float('nan')):.2f}", flush=True)
    points = []
    with tempfile.TemporaryDirectory(prefix=NAME + "_") as tmp:
        for mode in modes:
            for gap in gaps:
                p = fly(gap, mode, Path(tmp) / f"{mode}_{gap:g}", args.start, args.after, domain)
                points.append(p)
                print(f"  {mode:6s} gap {gap:g} s: " + (", ".join(
                    f"{n} {'+%.1f s' % d['delay_s'] if d['delay_s'] is not None else 'NOT back'}"
                    for n, d in p["drones"].items()) or p.get("error", "")[-300:]) + f" ({p['wall_s']:.0f} s wall)",
                    flush=True)
    rows = []
    for p in points:
        peer = next((q for q in points if q["mode"] == p["mode"] and q["gap_s"] == min(gaps)), None)
        delays = [d["delay_s"] for d in p["drones"].values()]
        rows.append([p["mode"], f"{p['gap_s']:g}", " ".join("-" if d is None else f"{d:.1f}" for d in delays),
                     "-" if p.get("max_delay_s") is None else f"{p['max_delay_s']:.1f}",
                     ratio(p.get("max_delay_s"), peer.get("max_delay_s")) if peer and peer is not p else "",
                     "yes" if p.get("all_rejoined") else f"no ({p.get('left_after_up_s') or 0:.0f} s flown after up)"])
    print()
    print(table(["discovery", "gap s", "rejoin s per drone", "slowest s", f"vs {min(gaps):g} s gap", "all back"], rows,
                title="rings at --speed 1 on 3 hosts, host 1 (3 drones) link down: link up -> first command back"))
    write_json(NAME, {"benchmark": NAME, "machine": info, "start_s": args.start, "after_s": args.after,
                      "points": points}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
