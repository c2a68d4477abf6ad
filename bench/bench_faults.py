"""Fault runs through `swarm-ros launch`: how fast a lockstep mission flies on after a fault,
against the same mission without one in the same run.

    python bench/bench_faults.py                  # rings, lockstep, one process per drone: about 2 min
    python bench/bench_faults.py --repeats 3 --json /tmp/faults.json

Contenders (each a whole launch, in its own domain from $ROS_DOMAIN_ID, default 90):
- peer (no fault): the mission as is;
- drone killed: cf2's process SIGKILLed as the mission starts (it is declared lost after the
  default 5 command timeouts, its failsafe lands it);
- recorder stalled: the recorder SIGSTOPped for STALL s after the mission starts (lockstep waits).

Reported: wall time from the mission start to the summary, the mission's real-time factor
(`rtf` of the summary, over the whole run), what the summary says was lost, and whether the bag
holds every tick's odometry.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, ratio, table, write_json  # noqa: E402

NAME = "bench_faults"
STALL = 12.0     # s the recorder is stopped


def _says(run: Path, label: str, text: str) -> bool:
    logs = sorted((run / "logs").glob(f"*_{label}.log")) if (run / "logs").is_dir() else []
    return bool(logs) and text in logs[0].read_text(errors="replace")


def _pid(run: Path, label: str) -> int:
    return next(int(line.split()[0]) for line in (run / "logs" / "pids.txt").read_text().splitlines()
                if line.split()[1].endswith(f"_{label}.log"))


def one_run(mission: str, fault: str, domain: int, tmp: Path) -> dict:
    run = tmp / f"{fault.split()[0]}_{domain}"
    args = [sys.executable, "-m", "swarm_ros.cli", "launch", mission, "--speed", "0", "--per-drone-processes",
            "--run-dir", str(run), "--json", str(run) + ".json"]
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp)
    while proc.poll() is None and not _says(run, "simulator", "starts in lockstep"):
        time.sleep(0.1)
    t0 = time.monotonic()
    if fault == "drone killed":
        os.kill(_pid(run, "cf2_drone"), signal.SIGKILL)
    elif fault == "recorder stalled":
        recorder = _pid(run, "recorder")
        os.kill(recorder, signal.SIGSTOP)
        time.sleep(STALL)
        os.kill(recorder, signal.SIGCONT)
    out, _ = proc.communicate()
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{fault}: launch exited with {proc.returncode}:\n{out[-2000:]}")
    s = json.loads(Path(str(run) + ".json").read_text())
    return {"wall_s": wall, "rtf": s["rtf"], "sim_time": s["sim_time"], "lost": s.get("lost"),
            "data_lost": s.get("data_lost"), "verdict": out.strip().splitlines()[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mission", default="rings")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    domain = int(os.environ.get("ROS_DOMAIN_ID", "90"))
    faults = ["peer (no fault)", "drone killed", "recorder stalled"]
    results: dict[str, list[dict]] = {f: [] for f in faults}
    with tempfile.TemporaryDirectory(prefix="bench_faults_") as tmp:
        for r in range(args.repeats):
            for i, fault in enumerate(faults):
                results[fault].append(one_run(args.mission, fault, domain + i, Path(tmp)))
    peer = median([x["rtf"] for x in results[faults[0]]])
    rows = []
    for fault in faults:
        runs = results[fault]
        rtf = median([x["rtf"] for x in runs])
        lost = "; ".join(f"{e['name']}@{e['t']:g}s" for e in runs[-1]["lost"] or []) or "-"
        rows.append([fault, f"{median([x['wall_s'] for x in runs]):.1f}", f"{rtf:.2f}", ratio(rtf, peer), lost,
                     sum((runs[-1]["data_lost"] or {}).values()), runs[-1]["verdict"]])
    print(table(["run", "wall s", "x real time", "vs peer", "lost", "odom lost", "verdict"], rows,
                title=f"{args.mission}, lockstep, one process per drone ({args.repeats} repeats)"))
    write_json(NAME, {"machine": machine_info(), "mission": args.mission, "results": results}, args.json)


if __name__ == "__main__":
    main()
