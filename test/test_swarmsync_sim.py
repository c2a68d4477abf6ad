"""SwarmSync on the network simulator: targets only, loss, leader loss, drop-outs, determinism, CLI."""
import json

import pytest

from firmware_update.messages import Chunk
from firmware_update.scenario import Dissemination, Scenario, _leader_of, run
from swarm_ros.cli import main

SMALL = dict(drones=50, size=24_576, until=120.0)


@pytest.mark.parametrize("strategy", ["swarmsync", "gossip", "soul"])
def test_only_the_targeted_drones_get_the_patch(strategy):
    d = Dissemination(Scenario(strategy=strategy, target="type=cf,role=scout|mapper", **SMALL))
    assert d.run_until(120.0)
    r = d.result()
    assert r["converged"] and r["completed"] == r["targets"] == len(d.targets) > 0
    for a in d.agents[:-1]:
        assert (a.blob == d.blob) if a.name in d.targets else (a.blob is None and a.store is None)
    assert r["non_targets_holding_patch"] == 0
    assert r["relay_peak_chunks"] < d.by_name["updater"].store.n     # a relay never held the patch


@pytest.mark.parametrize("strategy", ["swarmsync", "gossip", "soul"])
def test_thirty_percent_packet_loss_still_completes(strategy):
    r = run(Scenario(strategy=strategy, loss=0.3, **SMALL))
    assert r["converged"], r
    assert r["lost"] > 0.25 * (r["lost"] + r["messages_sent"])   # the loss really happened


@pytest.mark.parametrize("strategy", ["swarmsync", "gossip", "soul"])
def test_targets_converge_although_forgers_answer_every_chunk_with_a_forgery(strategy):
    d = Dissemination(Scenario(strategy=strategy, forgers=2, **SMALL))
    assert d.run_until(120.0)
    r = d.result()
    assert r["converged"] and r["completed"] == r["targets"] > 0
    assert all(d.by_name[n].blob == d.blob for n in d.targets)
    assert r["forged_sent"] > 0 and r["chunks_refused"] > 0     # forgeries reached drones lacking the chunk
    for a in d.agents[:-1]:                                     # and no forgery sits in a store
        if a.store is not None:
            assert all(a.store.chunks[k] == d.agents[-1].store.chunks[k] for k in a.store.chunks)


def test_leader_loss_triggers_re_election_and_the_transfer_resumes():
    d = Dissemination(Scenario(strategy="swarmsync", drones=50, size=65_536, until=120.0))
    t, leader = 0.0, None
    while leader is None or d.by_name[leader].progress < 0.3:   # until the most followed leader is
        t += 0.05                                                # well into the transfer
        assert not d.run_until(t)
        leader = _leader_of(d.agents, d.targets)
    victim = d.fail("leader")
    followers = [a for a in d.agents[:-1] if a.name != victim and getattr(a, "leader", None) == victim]
    assert followers and all(a.blob is None for a in followers)      # it died mid-transfer
    before = sum(a.elections for a in followers)
    assert d.run_until(120.0)
    assert d.result()["converged"] and d.by_name[victim].blob is None
    assert all(a.blob == d.blob for a in followers)
    d.sim.stopped = False
    d.run_until(d.sim.t + 2.0)                  # leaders keep beaconing after the transfer
    assert all(a.leader not in (None, victim) for a in followers)
    assert sum(a.elections for a in followers) > before    # some had to re-elect (others switched earlier)


def test_a_drone_that_drops_out_resumes_from_its_chunks():
    d = Dissemination(Scenario(strategy="swarmsync", **SMALL))
    t = 0.0
    while True:
        t += 0.05
        assert not d.run_until(t)
        partial = [a for a in d.agents[:-1] if a.store is not None and 0.2 < a.progress < 0.8]
        if partial:
            break
    drone = partial[0]
    held = dict(drone.store.chunks)
    d.fail(drone.name, duration=3.0)
    d.run_until(t + 2.9)
    assert drone.store.chunks == held                   # offline: nothing in, nothing lost
    assert d.run_until(120.0) and drone.blob == d.blob
    assert d.result()["converged"]


def test_a_seed_fixes_the_run():
    a = run(Scenario(drones=40, loss=0.1, seed=3))
    b = run(Scenario(drones=40, loss=0.1, seed=3))
    c = run(Scenario(drones=40, loss=0.1, seed=4))
    drop = lambda r: {k: v for k, v in r.items() if k != "wall_s"}   # noqa: E731
    assert drop(a) == drop(b)
    assert drop(a) != drop(c)


def test_cli_simulates_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["swarmsync", "simulate", "--drones", "40", "--strategy", "swarmsync,soul", "--loss", "0.1",
               "--size", "8192", "--json", str(out)])
    assert rc == 0
    runs = json.loads(out.read_text())["runs"]
    assert [r["strategy"] for r in runs] == ["swarmsync", "soul"] and all(r["converged"] for r in runs)
    assert "swarmsync" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["--drones", "1"], "--drones"), (["--strategy", "flood"], "--strategy"), (["--loss", "1"], "--loss"),
    (["--size", "0"], "--size"), (["--target", "colour=red"], "--target"), (["--target", "role=pilot"], "--target"),
    (["--until", "nan"], "--until"), (["--fail-leader-at", "-1"], "--fail-leader-at"),
    (["--json", "/nonexistent/dir/r.json"], "--json")])
def test_cli_bad_input_is_one_line_exit_2(args, needle, capsys):
    assert main(["swarmsync", "simulate", "--drones", "20", *args] if "--drones" not in args
                else ["swarmsync", "simulate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_a_chunk_corrupted_in_flight_is_refused_and_fetched_again():
    d = Dissemination(Scenario(strategy="swarmsync", drones=30, size=8192, until=60.0))
    victim = d.by_name[sorted(d.targets)[0]]
    spoilt: set[int] = set()
    handle = victim.handle

    def corrupting(msg, now):      # the first copy of every blob chunk reaches the victim damaged
        if isinstance(msg, Chunk) and msg.index > 0 and msg.index not in spoilt:
            spoilt.add(msg.index)
            msg = Chunk(msg.sender, msg.patch, msg.index, bytes(b ^ 0xFF for b in msg.data))
        return handle(msg, now)
    victim.handle = corrupting
    assert d.run_until(60.0)
    assert victim.store.refused >= len(spoilt) == victim.store.n - 1 > 0
    assert victim.blob == d.blob and d.result()["converged"]
