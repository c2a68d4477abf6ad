"""Fingerprints of headless missions, to show a speed change left every result the same, bit for bit.

    python bench/mission_hashes.py --write before.json        # on the old code
    python bench/mission_hashes.py --compare before.json      # on the new code: exit 1 if any differs

Each mission's fingerprint hashes the positions, velocities and commands of every tick and the
run summary (separations, radio counts, ...). Missions: the generated sphere mission
(bench/scenarios.py) at N = 30 to 1,000, covering the numpy paths (below 64 drones) and the
compiled ones, and config/missions/rings.yaml.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
SPHERES = [(30, 8.0), (64, 6.0), (100, 6.0), (300, 5.0), (1000, 8.0)]    # (N, mission s)


def fingerprint(mission) -> str:
    from swarm_ros.headless import fly
    h = hashlib.sha256()

    def on_tick(sim, cmd):
        for a in (sim.position, sim.velocity, cmd):
            h.update(a.tobytes())
    sim = fly(mission, on_tick=on_tick)
    h.update(json.dumps(sim.summary(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def main() -> int:
    from scenarios import write_scaled_mission
    from swarm_ros.mission import load_mission
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, help="write the fingerprints here (JSON)")
    ap.add_argument("--compare", type=Path, help="compare with fingerprints written before")
    args = ap.parse_args()
    out = {}
    for n, duration in SPHERES:
        with tempfile.TemporaryDirectory() as tmp:
            out[f"sphere{n}"] = fingerprint(load_mission(write_scaled_mission(Path(tmp), n, duration=duration)))
        print(f"sphere{n}", out[f"sphere{n}"], flush=True)
    out["rings"] = fingerprint(load_mission(ROOT / "config" / "missions" / "rings.yaml"))
    print("rings", out["rings"])
    if args.write:
        args.write.write_text(json.dumps(out, indent=1))
    if args.compare:
        before = json.loads(args.compare.read_text())
        differ = [k for k in out if before.get(k) != out[k]]
        print("all the same" if not differ else f"differ: {', '.join(differ)}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
