"""SwarmSync repairs: XOR-mixed repair frames, frame-by-frame serving, leaving a server that
answers nothing near the end, and jittered acknowledgements."""
import os
import random

import numpy as np
import pytest

from firmware_update.chunks import ChunkStore, bitmap, mix, unmix
from firmware_update.messages import Chunk, Mixed, Need, Offer, decode
from firmware_update.participant import SyncConfig
from firmware_update.protocol import DroneAgent, UpdaterAgent
from firmware_update.selector import DroneIdentity
from firmware_update.serving import Server, Upstream
from sim.netsim import NetConfig, NetSim

BLOB = np.random.default_rng(11).integers(0, 256, 9_000, dtype=np.uint8).tobytes()   # 1 hash-list + 9 blob chunks
FULL = ChunkStore.complete_from("p1", BLOB, 1024)


def ident(name):
    return DroneIdentity(name, "cf", "crazyflie_2.1", "scout")


def drone_holding(name, held):
    """A targeted SwarmSync drone that adopted the offer and holds the chunks `held`."""
    a = DroneAgent(ident(name))
    a.handle(Offer("up", "p1", 1, len(BLOB), 1024, FULL.digest, FULL.roots, "type=cf"), 0.0)
    for k in held:
        assert a.store.add(k, FULL.chunks[k])
    return a


def need(sender, lacking, to="srv"):
    return Need(sender, to, "p1", bitmap([k for k in range(FULL.n) if k not in lacking], FULL.n))


@pytest.mark.parametrize("size", [0, 1, 1000, 1024, 9_000, 70_001])
def test_chunk_lengths_and_unmix_recover_every_chunk(size):
    blob = os.urandom(size)
    store = ChunkStore.complete_from("p", blob, 1024)
    assert [store.length(k) for k in range(store.n)] == [len(store.chunks[k]) for k in range(store.n)]
    parts = [store.chunks[k] for k in range(store.n)]
    mixed = mix(parts)
    for k in range(store.n):
        assert unmix(mixed, parts[:k] + parts[k + 1:], store.length(k)) == parts[k]


def test_clients_that_lost_different_chunks_are_repaired_by_one_mixed_frame():
    s = Server("srv")
    s.on_need(need("a", {3}), FULL.n, 1.0)
    s.on_need(need("b", {5}), FULL.n, 1.0)
    s.on_need(need("c", {7}), FULL.n, 1.0)
    frames = s.next_chunks(FULL, 4, 1.0)
    assert len(frames) == 1 and isinstance(frames[0], Mixed)
    clients = {name: drone_holding(name, [k for k in range(FULL.n) if k != lost])
               for name, lost in (("a", 3), ("b", 5), ("c", 7))}
    wire = decode(frames[0].encode())
    for a in clients.values():
        a.handle(wire, 1.1)
    assert all(a.store.complete and a.blob == BLOB for a in clients.values())


def test_clients_lacking_the_same_chunks_get_plain_chunks():
    s = Server("srv")
    for name in ("a", "b", "c"):
        s.on_need(need(name, {2, 3, 4}), FULL.n, 1.0)
    frames = s.next_chunks(FULL, 8, 1.0)
    assert [(type(f), f.index) for f in frames] == [(Chunk, 2), (Chunk, 3), (Chunk, 4)]


def test_a_client_lacking_two_of_a_mix_is_not_sacrificed_for_a_single_other():
    s = Server("srv")
    s.on_need(need("a", {3, 5}), FULL.n, 1.0)     # a lacks both: a mix of 3 and 5 gives it nothing
    s.on_need(need("b", {5}), FULL.n, 1.0)
    frames = s.next_chunks(FULL, 1, 1.0)
    assert [(type(f), f.index) for f in frames] == [(Chunk, 5)]    # the chunk both want, plain


def test_a_forged_mixed_frame_is_refused_and_stores_nothing():
    a = drone_holding("a", [k for k in range(FULL.n) if k != 4])
    forged = Mixed("evil", "p1", bitmap([4, 6], FULL.n), os.urandom(1024))
    a.handle(forged, 1.0)
    assert 4 not in a.store and a.store.refused == 1 and a.blob is None
    a.handle(Mixed("srv", "p1", bitmap([4, 6], FULL.n), mix([FULL.chunks[4], FULL.chunks[6]])), 1.1)
    assert a.store.complete and a.blob == BLOB


def test_a_drone_that_lacks_two_chunks_of_a_mix_keeps_neither():
    a = drone_holding("a", [k for k in range(FULL.n) if k not in (4, 6)])
    a.handle(Mixed("srv", "p1", bitmap([4, 6], FULL.n), mix([FULL.chunks[4], FULL.chunks[6]])), 1.0)
    assert 4 not in a.store and 6 not in a.store and a.store.refused == 0


def test_a_server_decides_frame_by_frame_and_skips_a_chunk_overheard_meanwhile():
    s = Server("srv")
    s.on_need(need("a", {2, 3, 4}), FULL.n, 1.0)
    assert [f.index for f in s.next_chunks(FULL, 1, 1.0)] == [2]
    s.overheard(3, 1.01)                  # a neighbour sent 3 while our frame was on the air
    assert [f.index for f in s.next_chunks(FULL, 1, 1.02)] == [4]
    up = UpdaterAgent("up", BLOB, "p1", 1, "type=cf")
    up.handle(Need("a", "up", "p1", bitmap([], up.store.n)), 0.1)
    assert sum(isinstance(m, Chunk) for _, m in up.poll(0.2)) == SyncConfig().serve_burst == 1


def test_near_the_end_a_client_leaves_a_server_whose_answers_never_arrive():
    store = ChunkStore("p1", len(BLOB), 1024, FULL.digest, FULL.roots)
    for k in range(FULL.n - 2):
        store.add(k, FULL.chunks[k])
    up = Upstream(ack_every=8, ack_period=0.3, server_timeout=2.0, tail=8, retries=2)
    up.choose("srv", 0.0)
    assert up.need("me", store, 0.0) is not None and not up.stalled(0.1, 2)
    assert up.need("me", store, 0.3) is not None and up.stalled(0.4, 2)     # two Needs, nothing back
    assert not up.usable("srv", 0.5) and up.usable("srv", 1.5)
    # far from the end, two unanswered Needs are not enough (the server may be busy with others)
    up = Upstream(ack_every=8, ack_period=0.3, server_timeout=2.0, tail=8, retries=2)
    up.choose("srv", 0.0)
    up.need("me", store, 0.0), up.need("me", store, 0.3)
    assert not up.stalled(0.4, 30)
    # a new chunk in between answers the Need
    up = Upstream(ack_every=8, ack_period=0.3, server_timeout=2.0, tail=8, retries=2)
    up.choose("srv", 0.0)
    up.need("me", store, 0.0)
    up.on_chunk("srv", True, 0.1)
    up.need("me", store, 0.3)
    assert not up.stalled(0.4, 2)


def test_acknowledgement_periods_are_jittered_so_clients_fall_out_of_step():
    store = ChunkStore("p1", len(BLOB), 1024, FULL.digest, FULL.roots)
    times = {}
    for name in ("a", "b"):
        up = Upstream(ack_period=0.3, jitter=0.3, rng=random.Random(name))
        up.choose("srv", 0.0)
        sent, t = [], 0.0
        while t < 3.0:
            if up.need(name, store, t) is not None:
                sent.append(t)
            t = round(t + 0.01, 2)
        gaps = np.diff(sent)
        assert gaps.min() >= 0.21 - 1e-9 and gaps.max() <= 0.40 + 1e-9 and gaps.std() > 0.01
        times[name] = sent
    assert times["a"][1:] != times["b"][1:]


def test_mixed_repairs_complete_lossy_transfers_with_every_chunk_verified():
    mixed = 0
    for seed in range(4):
        installed = {}
        crew = [DroneAgent(ident(f"cf{i}"), on_complete=lambda o, b, n=f"cf{i}": installed.setdefault(n, b))
                for i in range(12)]
        agents = crew + [UpdaterAgent("up", BLOB, "p1", 1, "type=cf")]
        pos = np.column_stack([np.arange(len(agents)) * 3.0, np.zeros(len(agents)), np.full(len(agents), 10.0)])
        net = NetSim(agents, lambda dt: pos, NetConfig(range=100.0, loss=0.3), np.random.default_rng(seed))
        net.run(30.0)
        assert installed == {a.name: BLOB for a in crew}
        assert all(a.store.refused == 0 for a in crew)      # every recovered chunk passed its hash
        mixed += net.by_kind.get("Mixed", [0])[0]
    assert mixed > 0                                        # repairs were mixed, and decoded correctly


def test_with_few_chunks_left_a_client_acknowledges_more_often():
    store = ChunkStore("p1", len(BLOB), 1024, FULL.digest, FULL.roots)
    up = Upstream(ack_period=0.3, tail=3, tail_factor=0.5)
    up.choose("srv", 0.0)
    assert up.need("me", store, 0.0) is not None
    assert up.need("me", store, 0.2) is None                # far from the end: every 0.3 s
    for k in range(FULL.n - 3):
        store.add(k, FULL.chunks[k])
    assert up.need("me", store, 0.31) is not None
    assert up.need("me", store, 0.47) is not None           # 3 left: every 0.15 s
    assert up.need("me", store, 0.55) is None
