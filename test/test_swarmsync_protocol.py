"""SwarmSync and its baselines at the protocol level: wire format, chunk store, leaders, targets."""
import hashlib

import numpy as np
import pytest

from firmware_update.chunks import ChunkStore, bitmap, encode, indices, missing
from firmware_update.gossip import GossipAgent
from firmware_update.messages import BROADCAST, Award, Bid, Chunk, Hello, Need, Offer, WireError, decode
from firmware_update.protocol import DroneAgent, SwarmSyncAgent, UpdaterAgent
from firmware_update.selector import DroneIdentity
from firmware_update.soul import SoulAgent
from sim.netsim import NetConfig, NetSim

BLOB = np.random.default_rng(7).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
DIGEST = hashlib.sha256(BLOB).digest()
PARTS, ROOTS = encode(BLOB, 1024)       # PARTS[0] is the hash list, PARTS[1:] the blob


def offer_of(blob, patch="p1", version=1, chunk=1024, selector="*"):
    return Offer("up", patch, version, len(blob), chunk, hashlib.sha256(blob).digest(), encode(blob, chunk)[1],
                 selector)


MESSAGES = [
    Hello("cf1", 7, "cf/scout", 3.25, 0.5, "cf2", "p1", 12, False),
    Offer("up", "p1", 3, 20_000, 1024, DIGEST, ROOTS, "type=cf,role=scout"),
    Need("cf1", "cf2", "p1", bitmap([0, 3, 19], 20)),
    Chunk("cf2", "p1", 19, BLOB[:1024]),
    Bid("x1", "cf1", "p1", bitmap([1, 2], 20), 2.5),
    Award("cf1", "x1", "p1", bitmap([2], 20)),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(msg):
    data = msg.encode()
    assert decode(data) == msg
    assert type(decode(data)) is type(msg)


@pytest.mark.parametrize("data", [b"", b"\x63", MESSAGES[3].encode()[:-1], MESSAGES[2].encode() + b"\x00",
                                  b"\x01\x03\x00\xff\xfe\xfd"])
def test_garbage_is_refused(data):
    with pytest.raises(WireError):
        decode(data)


def test_bitmaps_name_exactly_the_held_chunks():
    held = [0, 5, 8, 9, 20]
    bits = bitmap(held, 21)
    assert indices(bits, 21) == held
    assert missing(bits, 21) == [k for k in range(21) if k not in held]
    assert missing(b"", 3) == [0, 1, 2]


def ident(name, type_="cf", role="scout"):
    return DroneIdentity(name, type_, {"cf": "crazyflie_2.1", "x500": "px4_x500"}[type_], role)


def static_net(agents, seed=0, loss=0.0):
    """All agents hovering within radio range of each other."""
    pos = np.column_stack([np.arange(len(agents)) * 3.0, np.zeros(len(agents)), np.full(len(agents), 10.0)])
    return NetSim(agents, lambda dt: pos, NetConfig(range=100.0, loss=loss), np.random.default_rng(seed))


FLEET = [ident("cf1"), ident("cf2"), ident("cf3", role="mapper"), ident("x1", "x500"), ident("x2", "x500", "scout"),
         ident("cf4"), ident("x3", "x500", "mapper")]


@pytest.mark.parametrize("cls", [SwarmSyncAgent, GossipAgent, SoulAgent], ids=lambda c: c.strategy)
def test_only_targeted_drones_receive_and_install(cls):
    installed = {}
    agents = [cls(d, on_complete=lambda offer, blob, n=d.name: installed.setdefault(n, blob)) for d in FLEET]
    agents.append(cls.updater("up", BLOB, "p1", 1, "type=cf,role=scout"))
    net = static_net(agents)
    net.run(60.0)
    assert set(installed) == {"cf1", "cf2", "cf4"}
    assert all(blob == BLOB for blob in installed.values())
    for a in agents[:-1]:
        assert a.offer is not None                      # everyone heard of the patch ...
        assert (a.store is not None) == (a.name in installed)   # ... only targets kept chunks


def test_non_target_relays_the_offer_and_drops_chunks():
    a = DroneAgent(ident("x1", "x500"))
    offer = MESSAGES[1]
    out = a.handle(offer.encode(), 0.0)
    assert [(dest, type(m).__name__, m.sender) for dest, m in out] == [(BROADCAST, "Offer", "x1")]
    assert a.handle(offer, 0.1) == []                     # relayed once only
    assert a.handle(Chunk("up", "p1", 0, BLOB[:1024]), 0.2) == [] and a.store is None and a.blob is None


def test_an_older_version_does_not_replace_the_current_offer():
    a = DroneAgent(ident("cf1"))
    a.handle(offer_of(b"x" * 100, "p2", 5, 64), 0.0)
    assert a.handle(offer_of(b"y" * 100, "p1", 4, 64), 0.1) == []
    assert a.offer.patch == "p2"


def feed(agent, chunks, ids, t=1.0):
    for k in ids:
        agent.handle(Chunk("up", "p1", k, chunks[k]), t)


def test_a_restarted_drone_resumes_from_the_chunks_on_disk(tmp_path):
    offer = offer_of(BLOB, selector="type=cf")
    chunks = PARTS
    first = DroneAgent(ident("cf1"), store_dir=tmp_path)
    first.handle(offer, 0.0)
    feed(first, chunks, range(0, len(chunks), 2))
    (tmp_path / "p1" / "chunk_1.tmp").write_bytes(b"half-written")     # killed mid-write
    got = []
    second = DroneAgent(ident("cf1"), store_dir=tmp_path, on_complete=lambda o, b: got.append(b))
    second.handle(offer, 2.0)
    assert second.progress == pytest.approx(len(range(0, len(chunks), 2)) / len(chunks))
    assert 1 not in second.store
    feed(second, chunks, range(1, len(chunks), 2), t=3.0)
    assert got == [BLOB] and second.blob == BLOB and second.completed_at == 3.0
    # a folder left by another patch is not mistaken for this one
    other = ChunkStore("p9", 4000, 1024, b"\0" * 32, b"\0" * 16, tmp_path / "p1")
    assert len(other) == 0


def forged(data: bytes) -> bytes:
    return bytes(b ^ 0x5A for b in data)


def test_a_bad_chunk_is_refused_and_not_stored(tmp_path):
    got = []
    a = DroneAgent(ident("cf1"), store_dir=tmp_path, on_complete=lambda o, b: got.append(b))
    a.handle(offer_of(BLOB), 0.0)
    feed(a, PARTS, [0, 1, 2])
    a.handle(Chunk("evil", "p1", 3, forged(PARTS[3])), 1.0)
    a.handle(Chunk("evil", "p1", 0, forged(PARTS[0])), 1.0)       # already held: ignored, not replaced
    assert 3 not in a.store and a.store.refused == 1 and a.store.chunks[0] == PARTS[0]
    assert not (tmp_path / "p1" / "chunk_3").exists() and (tmp_path / "p1" / "chunk_2").exists()
    assert 3 in missing(a.store.have_bitmap(), a.store.n)           # so it is asked for again
    feed(a, PARTS, range(3, len(PARTS)))
    assert got == [BLOB]


def test_a_forged_hash_list_is_refused_and_early_chunks_wait_for_the_real_one():
    got = []
    a = DroneAgent(ident("cf1"), on_complete=lambda o, b: got.append(b))
    a.handle(offer_of(BLOB), 0.0)
    a.handle(Chunk("evil", "p1", 5, forged(PARTS[5])), 0.5)        # blob chunks before the hash list:
    feed(a, PARTS, range(1, len(PARTS)))                            # held back, neither kept nor served
    assert len(a.store) == 0 and a.store.have_bitmap() == bitmap([], a.store.n)
    a.handle(Chunk("evil", "p1", 0, forged(PARTS[0])), 1.5)
    assert len(a.store) == 0 and a.store.refused == 1
    feed(a, PARTS, [0], t=2.0)                                      # the real hash list: the waiting
    assert got == [BLOB] and a.store.refused == 2                   # chunks are checked, the forgery dropped


def test_a_chunk_corrupted_on_disk_is_dropped_on_resume(tmp_path):
    first = DroneAgent(ident("cf1"), store_dir=tmp_path)
    first.handle(offer_of(BLOB), 0.0)
    feed(first, PARTS, range(6))
    (tmp_path / "p1" / "chunk_4").write_bytes(forged(PARTS[4]))
    second = DroneAgent(ident("cf1"), store_dir=tmp_path)
    second.handle(offer_of(BLOB), 1.0)
    assert sorted(second.store.chunks) == [0, 1, 2, 3, 5] and not (tmp_path / "p1" / "chunk_4").exists()


def test_an_offer_whose_roots_do_not_fit_its_size_is_ignored():
    a = DroneAgent(ident("cf1"))
    bad = Offer("up", "p1", 1, len(BLOB), 1024, DIGEST, ROOTS[:8], "*")
    assert a.handle(bad, 0.0) == [] and a.offer is None


def test_leader_is_the_best_scoring_member_and_is_re_elected_when_lost():
    batteries = {"cf1": 0.7, "cf2": 1.0, "cf4": 0.9, "cf5": 0.6}
    agents = [SwarmSyncAgent(ident(n)) for n in batteries]
    for a in agents:
        a.battery = batteries[a.name]
    agents.append(UpdaterAgent("up", BLOB, "p1", 1, "type=cf"))
    net = static_net(agents)
    net.run(4.0)
    assert {a.name: a.leader for a in agents[:-1]} == dict.fromkeys(batteries, "cf2")
    net.take_offline("cf2", net.t)
    net.run(8.0)
    survivors = [a for a in agents[:-1] if a.name != "cf2"]
    assert {a.leader for a in survivors} == {"cf4"}
    assert all(a.elections >= 1 for a in survivors)


@pytest.mark.parametrize("bad_id", ["../pwn", "/abs/pwn", "..", "a/b"])
def test_an_offer_whose_id_is_not_a_plain_name_is_ignored(tmp_path, bad_id):
    if bad_id.startswith("/"):
        bad_id = str(tmp_path / "abs" / "pwn")
    store = tmp_path / "store"
    a = DroneAgent(ident("cf1"), store_dir=store)
    assert a.handle(offer_of(BLOB, bad_id), 0.0) == []
    assert a.offer is None and a.store is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []        # nothing created, in or out of the store
    with pytest.raises(ValueError, match="not a plain name"):
        ChunkStore(bad_id, len(BLOB), 1024, DIGEST, ROOTS, store / bad_id)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_chunk_overheard_from_a_neighbour_is_sent_again_only_on_a_newer_need():
    from firmware_update.serving import Server
    store = ChunkStore.complete_from("p1", BLOB, 1024)
    s = Server("cf2")
    s.on_need(Need("cf1", "cf2", "p1", bitmap([], store.n)), store.n, 1.0)   # cf1 lacks everything
    s.overheard(3, 1.5)                                                      # a neighbour just sent chunk 3
    first = [c.index for c in s.next_chunks(store, store.n, 1.5)]
    assert 3 not in first and len(first) == store.n - 1
    s.on_need(Need("cf1", "cf2", "p1", bitmap([k for k in range(store.n) if k != 3], store.n)), store.n, 1.7)
    assert [c.index for c in s.next_chunks(store, store.n, 1.7)] == [3]      # cf1 missed it: repaired


def test_drones_of_every_targeted_role_elect_leaders_together():
    crew = [ident("cf1"), ident("cf2", role="mapper"), ident("cf3", role="relay"), ident("cf4", role="mapper")]
    agents = [SwarmSyncAgent(d) for d in crew]
    for a in agents:
        a.battery = 1.0 if a.name == "cf3" else 0.6
    agents.append(UpdaterAgent("up", BLOB, "p1", 1, "type=cf"))
    net = static_net(agents)
    net.run(4.0)
    # one neighbourhood, one patch: one leader for all of them, whatever their role (not one per role)
    assert {a.leader for a in agents[:-1]} == {"cf3"}
