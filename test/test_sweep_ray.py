"""Sweeps on a real local Ray (2 workers, loopback only): the runs equal headless runs of the same
settings flown one by one, a killed task is retried and reported, a re-run resumes; the trainer
gives the same policy with its candidates scored on Ray. Every test shuts its Ray down."""
from __future__ import annotations

import copy
from dataclasses import replace
import ipaddress
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"      # before Ray is imported: loopback only
ray = pytest.importorskip("ray")

from swarm_ros.cli import main  # noqa: E402
from swarm_ros.headless import fly  # noqa: E402
from swarm_ros.mission import load_mission  # noqa: E402
from swarm_ros.sweep.engines import PoolEngine, RayEngine  # noqa: E402
from swarm_ros.sweep.runner import run_sweep  # noqa: E402
from swarm_ros.sweep.spec import load_sweep  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WAYPOINT = {"controller": "waypoint", "params": {"waypoints": [[0, 1, 1.5]], "relative": True}}


def _short_mission(folder: Path, duration: float = 11.0) -> tuple[Path, dict]:
    """first_flight cut to `duration` s (a 6 s landing), with absolute fleet and world paths."""
    data = yaml.safe_load((REPO / "config" / "missions" / "first_flight.yaml").read_text())
    data["phases"]["land"]["duration"] = 6
    data.update(duration=duration, fleet=str(REPO / "config" / "fleets" / "mixed_lab.yaml"),
                world=str(REPO / "sim" / "worlds" / "pillar_field.yaml"))
    path = folder / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def _listening_addresses(root_pid: int) -> set[str]:
    """Local addresses of the TCP sockets listening in `root_pid`'s descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    todo, pids = [root_pid], set()
    while todo:
        p = todo.pop()
        pids.add(p)
        todo += children.get(p, [])
    inodes = set()
    for p in pids - {root_pid}:
        try:
            for fd in Path(f"/proc/{p}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:                # LISTEN
                words = bytes.fromhex(f[1].split(":")[0])      # 32-bit words in host (little-endian) order
                raw = b"".join(words[i:i + 4][::-1] for i in range(0, len(words), 4))
                found.add(ipaddress.ip_address(raw))
    return found


def _loopback(address) -> bool:
    return address.is_loopback or bool(getattr(address, "ipv4_mapped", None) and address.ipv4_mapped.is_loopback)


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """2 controllers x 2 loss values x 2 seeds of an 11 s mission, on a local Ray with 2 workers."""
    tmp = tmp_path_factory.mktemp("sweep")
    mission, data = _short_mission(tmp)
    sweep_file = tmp / "small.yaml"
    sweep_file.write_text(yaml.safe_dump({
        "name": "small", "mission": str(mission), "seeds": [1, 2],
        "axes": {"controller": {"formation": {}, "waypoint": {"roles.inner_ring": WAYPOINT}},
                 "radio.loss": [0.0, 0.3]},
        "metrics": ["collisions", "min_separation", "radio.delivered"]}))
    sweep = load_sweep(sweep_file)
    out = tmp / "out"
    engine = RayEngine(None, 2)
    listening: list = []

    def on_event(kind, task, text):
        if kind == "done" and not listening:
            listening.append(_listening_addresses(os.getpid()))
            listening.append({n["NodeManagerAddress"] for n in ray.nodes()})
    try:
        outcome = run_sweep(sweep, out, engine, on_event)
    finally:
        engine.close()
    assert not ray.is_initialized()
    return sweep, out, outcome, data, listening


def test_a_sweep_on_ray_equals_each_run_flown_headless_alone(small_sweep, tmp_path):
    sweep, out, outcome, data, listening = small_sweep
    assert outcome.ran == 8 and not outcome.failed and not outcome.retried
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert len(rows) == 8 and {r["status"] for r in rows} == {"ok"}
    for r in rows:
        mission = copy.deepcopy(data)       # the setting, written out here without the sweep's code
        mission["radio"]["loss"] = r["radio.loss"]
        mission["seed"] = r["seed"]
        if r["controller"] == "waypoint":
            mission["roles"]["inner_ring"] = WAYPOINT
        path = tmp_path / f"{r['id']}.yaml"
        path.write_text(yaml.safe_dump(mission))
        alone = json.loads(json.dumps(fly(load_mission(path)).summary()))
        swept = json.loads((out / "runs" / r["id"] / "summary.json").read_text())
        assert swept == alone, r["id"]
        assert (r["collisions"], r["min_separation"], r["radio.delivered"]) == \
            (alone["collisions"], alone["min_separation"], alone["radio"]["delivered"])
    lossy = [r["radio.delivered"] for r in rows if r["radio.loss"] == 0.3]
    assert max(lossy) < min(r["radio.delivered"] for r in rows if r["radio.loss"] == 0.0)
    assert len({r["radio.delivered"] for r in rows if r["radio.loss"] == 0.3 and r["controller"] == "formation"}) == 2
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 9 and csv_lines[0].startswith("id,setting,controller,radio.loss,seed,collisions")
    if (out / "results.parquet").exists():
        import pyarrow.parquet as pq
        assert pq.read_table(out / "results.parquet").num_rows == 8


def test_local_ray_listens_on_loopback_only(small_sweep):
    listening = small_sweep[4]
    assert listening[1] == {"127.0.0.1"}
    assert listening[0] and all(_loopback(a) for a in listening[0]), listening[0]


def test_a_rerun_resumes_and_runs_only_what_is_missing(small_sweep):
    sweep, out, first, _, _ = small_sweep
    engine = PoolEngine(1)      # nothing to run: the engine is never asked
    try:
        again = run_sweep(sweep, out, engine, parquet=False)
    finally:
        engine.close()
    assert (again.ran, again.skipped) == (0, 8)
    victim = first.rows[3]["id"]
    kept = json.loads((out / "runs" / victim / "summary.json").read_text())
    (out / "runs" / victim / "result.json").unlink()
    engine = PoolEngine(1)
    try:
        third = run_sweep(sweep, out, engine, parquet=False)
    finally:
        engine.close()
    assert (third.ran, third.skipped) == (1, 7)
    assert json.loads((out / "runs" / victim / "summary.json").read_text()) == kept
    assert [r["id"] for r in third.rows] == [r["id"] for r in first.rows]
    # a metric added to the sweep file is read from the finished runs' summaries, nothing flies again
    grown = replace(sweep, metrics=sweep.metrics + ("radio.lost",))
    engine = PoolEngine(1)
    try:
        fourth = run_sweep(grown, out, engine, parquet=False)
    finally:
        engine.close()
    assert (fourth.ran, fourth.skipped) == (0, 8)
    for r in fourth.rows:
        assert r["radio.lost"] == json.loads((out / "runs" / r["id"] / "summary.json").read_text())["radio"]["lost"]


def test_a_task_killed_mid_run_is_retried_and_reported(tmp_path):
    mission, _ = _short_mission(tmp_path, duration=30.0)
    sweep_file = tmp_path / "kill.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "kill", "mission": str(mission), "seeds": [5, 6], "retries": 1}))
    sweep = load_sweep(sweep_file)
    out = tmp_path / "out"
    killed: list = []
    stop = threading.Event()

    def killer():
        started = next(out.glob("runs/*_seed6"), None)
        while not stop.is_set() and not killed:
            started = started or next(out.glob("runs/*_seed6"), None)
            f = started / "started.json" if started else None
            if f and f.is_file() and not (started / "summary.json").exists():
                try:
                    pid = json.loads(f.read_text())["pid"]
                except ValueError:
                    continue
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)
    events = []
    engine = RayEngine(None, 2)
    thread = threading.Thread(target=killer)
    thread.start()
    try:
        outcome = run_sweep(sweep, out, engine, lambda kind, task, text: events.append((kind, task["id"], text)),
                            parquet=False)
    finally:
        stop.set()
        thread.join()
        engine.close()
    assert len(killed) == 1
    seed6 = next(r for r in outcome.rows if r["seed"] == 6)
    assert seed6["status"] == "ok" and seed6["attempts"] == 2 and seed6["pid"] != killed[0]
    assert [(tid, attempt) for tid, attempt, _ in outcome.retried] == [(seed6["id"], 1)]
    assert "worker died" in outcome.retried[0][2]
    assert ("retry", seed6["id"]) in [(k, t) for k, t, _ in events]
    assert next(r for r in outcome.rows if r["seed"] == 5)["attempts"] == 1
    assert json.loads((out / "runs" / seed6["id"] / "result.json").read_text())["attempts"] == 2


def test_policy_training_on_ray_gives_the_serial_policy(tmp_path, capsys):
    from swarm_ros.core.mlp import load_mlp
    common = ["--iterations", "2", "--population", "6", "--max-steps", "30", "--seed", "3"]
    assert main(["policy", "train", "--out", str(tmp_path / "serial.safetensors"), *common]) == 0
    assert main(["policy", "train", "--out", str(tmp_path / "ray.safetensors"), "--ray", "--workers", "2",
                 *common]) == 0
    assert "on Ray (local, 127.0.0.1)" in capsys.readouterr().out
    assert not ray.is_initialized()
    a, b = load_mlp(tmp_path / "serial.safetensors"), load_mlp(tmp_path / "ray.safetensors")
    for (wa, ba), (wb, bb) in zip(a.weights, b.weights):
        assert (wa == wb).all() and (ba == bb).all()


def test_a_task_that_fails_every_attempt_is_reported_not_dropped(tmp_path, capsys):
    """Through the command, on the process pool (the fallback without Ray)."""
    mission, _ = _short_mission(tmp_path)
    sweep_file = tmp_path / "bad_metric.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "bad_metric", "mission": str(mission), "seeds": [1],
                                          "metrics": ["collisions", "radio.nothing"]}))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--pool", "--workers", "1"]) == 1
    printed = capsys.readouterr().out
    assert "1 failed" in printed and "radio.nothing" in printed
    row = json.loads((out / "results.json").read_text())["rows"][0]
    assert row["status"] == "failed" and row["attempts"] == 1 and "radio.nothing" in row["error"]


def test_a_ros_backend_sweep_flies_in_lockstep_and_reads_the_analysis(tmp_path, ros_domain, monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", str(ros_domain))
    mission, data = _short_mission(tmp_path)
    sweep_file = tmp_path / "ros.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "ros", "mission": str(mission), "seeds": [1], "backend": "ros",
                                          "metrics": ["collisions", "min_separation", "analysis.separation.min"]}))
    out = tmp_path / "out"
    engine = RayEngine(None, 1)
    try:
        outcome = run_sweep(load_sweep(sweep_file), out, engine, parquet=False)
    finally:
        engine.close()
    assert not outcome.failed, outcome.rows
    row = outcome.rows[0]
    run = out / "runs" / row["id"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["mode"] == "lockstep" and (run / "ros" / "bag" / "metadata.yaml").is_file()
    assert abs(row["analysis.separation.min"] - row["min_separation"]) < 1e-9
    alone = fly(load_mission(run / "mission.yaml")).summary()
    assert row["collisions"] == alone["collisions"] == 0


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_same_sweep_file_runs_on_an_existing_cluster_by_address(tmp_path):
    """A one-node Ray cluster on loopback (`ray start --head`), reached as a user reaches a cluster:
    `swarm-ros sweep FILE --address ray://HOST:PORT`, in another process."""
    import shutil
    import subprocess
    import sys
    import tempfile
    mission, data = _short_mission(tmp_path)
    sweep_file = tmp_path / "cluster.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "cluster", "mission": str(mission), "seeds": [1, 2],
                                          "metrics": ["collisions", "radio.delivered"]}))
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="token")
    gcs, client = _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="rsw")          # short: Ray's socket paths live under it
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--port", str(gcs), "--ray-client-server-port",
                             str(client), "--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--include-dashboard",
                             "false", "--disable-usage-stats", "--temp-dir", temp], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not _listening_addresses(head.pid) >= {ipaddress.ip_address("::ffff:127.0.0.1")} \
                and time.time() < deadline:
            time.sleep(1)
        out = tmp_path / "out"
        done = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "sweep", str(sweep_file), "--out", str(out),
                               "--address", f"ray://127.0.0.1:{client}"], env=env, capture_output=True, text=True,
                              timeout=300)
        listening = _listening_addresses(head.pid)
    finally:
        head.terminate()
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)     # what the head left behind in its own session
        except ProcessLookupError:
            pass
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"on ray://127.0.0.1:{client}" in done.stdout
    assert listening and all(_loopback(a) for a in listening), listening
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for r in rows:
        alone = fly(load_mission(out / "runs" / r["id"] / "mission.yaml")).summary()
        assert (r["collisions"], r["radio.delivered"]) == (alone["collisions"], alone["radio"]["delivered"])
