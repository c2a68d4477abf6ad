"""ROS mode of model updates: time until every targeted drone runs a pushed patch, during a
simulated mission of N drones (default 20) over the simulator's radio model (range, loss).

    python bench/bench_update_ros.py                 # N = 20, 30 % loss: about 2 min
    python bench/bench_update_ros.py --drones 10 --loss 0.1

Half the fleet is targeted (`type=cf`; the other half are `type=cfb`, same airframe). Two runs
in the same invocation, same mission and seed:
  - the layer-frozen patch (fc1 + head shipped, the shipped tuned model), and
  - the peer: the same update as a full-model patch (every layer shipped: non-incremental).
Per run: wall seconds from `swarm-ros patch push` to `patch status --wait` seeing every targeted
drone on the new model, bytes pushed, update-radio packets sent/lost, and how many non-targeted
drones installed (must be 0). Processes as `swarm-ros launch` starts them, ROS domains 226-227.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, ratio, table, write_json  # noqa: E402
from scenarios import write_scaled_mission  # noqa: E402

import yaml  # noqa: E402

from firmware_update.model import LAYERS, Model  # noqa: E402
from firmware_update.patch import build, generate_key, load_private_key  # noqa: E402

MODELS = Path(__file__).resolve().parent.parent / "firmware_update" / "models"
DOMAIN = 226            # ROS domains 226, 227: apart from bench_ros.py's 90-99


def mission(folder: Path, n: int, loss: float, duration: float, pub: Path) -> Path:
    path = write_scaled_mission(folder, n, duration=duration, speed=1.0)
    fleet = yaml.safe_load((folder / "fleet.yaml").read_text())
    fleet["types"]["cfb"] = dict(fleet["types"]["cf"])
    for k, d in enumerate(fleet["drones"].values()):
        d["type"] = "cf" if k % 2 == 0 else "cfb"
    (folder / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    m = yaml.safe_load(path.read_text())
    m["radio"]["loss"] = loss
    m["record"] = {"enabled": False}
    m["updates"] = {"keys": [str(pub)], "state": str(folder / "state"), "server": {"position": [0, -4, 1]}}
    path.write_text(yaml.safe_dump(m, sort_keys=False))
    return path


def run(folder: Path, mission_file: Path, patch: Path, domain: int, timeout: float) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    cli = [sys.executable, "-m", "swarm_ros.cli"]
    launch = subprocess.Popen([*cli, "launch", str(mission_file), "--run-dir", str(folder / "run"),
                               "--json", str(folder / "summary.json")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        push = subprocess.run([*cli, "patch", "push", str(patch), "--timeout", "60"], env=env,
                              capture_output=True, text=True)
        t0 = time.perf_counter()
        status = subprocess.run([*cli, "patch", "status", str(mission_file), "--wait", str(patch), "--timeout",
                                 str(timeout), "--json", str(folder / "status.json")], env=env,
                                capture_output=True, text=True)
        wall = time.perf_counter() - t0
        launch.wait(timeout=300)
    finally:
        if launch.poll() is None:
            launch.terminate()
            launch.wait(timeout=30)
    st = json.loads((folder / "status.json").read_text()) if (folder / "status.json").exists() else {}
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    fleet = yaml.safe_load((folder / "fleet.yaml").read_text())["drones"]
    others = [n for n, d in fleet.items() if d["type"] != "cf"]
    return {"pushed": push.returncode == 0, "all_installed": status.returncode == 0,
            "wall_to_all_s": wall if status.returncode == 0 else None, "patch_bytes": patch.stat().st_size,
            "radio": summary.get("update_radio"), "installed_outside_target":
                sum(st.get(n, {}).get("state") == "installed" for n in others), "push_err": push.stderr.strip()[-300:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drones", type=int, default=20)
    ap.add_argument("--loss", type=float, default=0.3)
    ap.add_argument("--duration", type=float, default=60.0, help="mission seconds (real time)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    base, tuned = Model.load(MODELS / "base.safetensors"), Model.load(MODELS / "tuned.safetensors")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        priv, pub = generate_key()
        (tmp / "k.key").write_bytes(priv)
        (tmp / "k.pub").write_bytes(pub)
        key = load_private_key(tmp / "k.key")
        for i, (label, frozen) in enumerate([("layer-frozen patch", LAYERS[:4]), ("full model (peer)", ())]):
            folder = tmp / f"run{i}"
            mission_file = mission(folder, args.drones, args.loss, args.duration, tmp / "k.pub")
            patch = folder / "p.patch"
            patch.write_bytes(build(base, tuned, frozen, "2", "type=cf").sign(key).to_bytes())
            results[label] = run(folder, mission_file, patch, DOMAIN + i, args.duration - 15)
    peer = results["full model (peer)"]["wall_to_all_s"]
    rows = []
    for label, r in results.items():
        rows.append([label, f"{r['patch_bytes']:,}", "yes" if r["all_installed"] else "NO",
                     f"{r['wall_to_all_s']:.1f}" if r["wall_to_all_s"] else "-",
                     ratio(peer, r["wall_to_all_s"]) if r["wall_to_all_s"] else "-",
                     (r["radio"] or {}).get("sent", "-"), (r["radio"] or {}).get("lost", "-"),
                     r["installed_outside_target"]])
    print(table(["update", "bytes", "all targeted installed", "push -> all (s)", "speed-up vs full",
                 "packets sent (mission)", "link copies lost", "installed outside target"], rows,
                title=f"Model patch over ROS 2: {args.drones} drones ({(args.drones + 1) // 2} targeted), "
                      f"radio loss {args.loss:g}, real time"))
    write_json("bench_update_ros", {"machine": machine_info(), "drones": args.drones, "loss": args.loss,
                                    "results": results}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
