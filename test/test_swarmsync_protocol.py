"""SwarmSync and its baselines at the protocol level: wire format, chunk store, leaders, targets."""
import hashlib

import numpy as np
import pytest

from firmware_update.chunks import ChunkStore, bitmap, encode, indices, missing
from firmware_update.gossip import GossipAgent
from firmware_update.messages import BROADCAST, Award, Bid, Chunk, Hello, Mixed, Need, Offer, WireError, decode
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
    Mixed("cf2", "p1", bitmap([4, 9], 20), BLOB[:1024]),
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


def line_net(agents, spacing, loss=0.0, seed=0):
    """Agents hovering on a line, `spacing` m apart, 60 m radio range."""
    pos = np.column_stack([np.arange(len(agents)) * spacing, np.zeros(len(agents)), np.full(len(agents), 10.0)])
    return NetSim(agents, lambda dt: pos, NetConfig(range=60.0, loss=loss), np.random.default_rng(seed))


@pytest.mark.parametrize("loss", [0.0, 0.3])
def test_a_target_out_of_everyones_reach_completes_through_an_untargeted_relay(loss):
    # updater -- x1 (not targeted) -- cf1: cf1 hears only x1, x1 hears both
    installed = {}
    relay = DroneAgent(ident("x1", "x500"))
    target = DroneAgent(ident("cf1"), on_complete=lambda offer, blob: installed.setdefault("cf1", blob))
    up = UpdaterAgent("up", BLOB, "p1", 1, "type=cf")
    net = line_net([up, relay, target], 45.0, loss)
    net.run(120.0)
    assert installed == {"cf1": BLOB}
    assert relay.relay.forwarded > 0                         # the chunks came through x1
    assert relay.store is None and relay.blob is None        # x1 never had a chunk store ...
    assert 0 < relay.relay.peak <= relay.relay.window < up.store.n   # ... nor ever the patch's chunks at once


def test_a_relay_forwards_only_what_an_isolated_target_lacks_and_only_from_a_holder():
    x = DroneAgent(ident("x1", "x500"))
    x.handle(offer_of(BLOB, selector="type=cf"), 0.0)
    n = x.offer.n_chunks
    x.handle(Hello("up", 1, "@updater", 1e9, 1.0, "up", "p1", n, True), 0.1)
    x.handle(Need("cf1", "@relay", "p1", bitmap([0, 1], n)), 0.2)           # cf1 lacks 2 .. n-1
    asks = [m for _, m in x.poll(0.3) if isinstance(m, Need)]
    # asks the holder for what cf1 lacks, no more than its queue takes
    assert [(m.to, missing(m.have, n)) for m in asks] == [("up", list(range(2, 2 + x.relay.window)))]
    x.handle(Chunk("up", "p1", 1, PARTS[1]), 0.4)        # cf1 has it: not forwarded
    x.handle(Chunk("zz", "p1", 2, PARTS[2]), 0.4)        # not from a holder it heard: not forwarded
    x.handle(Chunk("up", "p1", 3, PARTS[3]), 0.4)
    sent = [m for _, m in x.poll(0.5) if isinstance(m, Chunk)]
    assert [(m.sender, m.index, m.data) for m in sent] == [("x1", 3, PARTS[3])]
    assert x.store is None and x.relay.queue == {}


def test_a_target_in_reach_of_the_updater_asks_no_relay():
    installed = {}
    target = DroneAgent(ident("cf1"), on_complete=lambda offer, blob: installed.setdefault("cf1", blob))
    relay = DroneAgent(ident("x1", "x500"))
    up = UpdaterAgent("up", BLOB, "p1", 1, "type=cf")
    net = line_net([up, target, relay], 20.0)
    net.run(60.0)
    assert installed == {"cf1": BLOB}
    assert relay.relay.forwarded == 0 and relay.relay.clients == {}
