"""SwarmSync: hierarchical, acknowledged dissemination of a patch to exactly its targets.

The patch's selector picks the targeted ``type/role`` sub-swarms; for the transfer their drones
form one overlay (:data:`OVERLAY`): leaders are elected among all targeted drones, not per
``type/role``, because sub-swarms of one patch share the airspace and per-sub-swarm leaders
would each broadcast the same chunks into the same neighbourhood. Each drone beacons a
:class:`Hello` (every ``hello_period``) with its leader score (battery and link quality, see
neighbours.py) and progress; leaders emerge from those beacons and are re-elected when a leader
falls silent. Data flows updater -> leaders -> members:

* a **leader** (or a drone with no leader in range) fetches from the best source it hears: the
  updater first, then a complete drone, then another leader, then any drone ahead of it; leaders
  of farther sub-swarms fetch from nearer leaders, so leaders form the multi-hop backbone;
* a **member** fetches from its leader; while its leader has nothing it lacks, it fetches from
  the best neighbour that has (after ``leader_patience``), and when nobody around has anything
  new it subscribes to its leader anyway, so the leader forwards each chunk the moment it gets it
  (pipelining instead of store-and-forward); a neighbour counts as having chunks when its hello
  says so or when it just sent one this drone lacked;
* a drone out of reach of every other drone of the patch for ``neighbour_timeout`` asks
  untargeted drones around it to forward chunks in flight (relay.py): they never store, verify
  or install the patch, and hold at most a few chunks at once;
* a drone beacons as soon as it holds its first chunk, not at its next hello: drones one hop
  farther out fetch from it only once they know it has chunks, so otherwise the first wave would
  move one hop per hello period;
* each transfer is selective-repeat with bitmap acknowledgements (serving.py: frame-by-frame
  picks, XOR-mixed repairs, jittered acknowledgements); chunks are
  broadcast, so members also keep what they overhear from the updater or other leaders, and a
  server that overhears a chunk sent by a neighbour counts it as sent: it sends it again only
  when a later acknowledgement says a client still lacks it (repair by NACK from the nearest
  holder instead of one more copy into a neighbourhood that mostly has it).

Host inputs: messages, ``now``, and ``battery`` (attribute, 0..1; 1.0 unless the host sets it).
Link quality and neighbour knowledge come from hellos only. ``blob`` / ``on_complete`` deliver
the assembled bytes.
"""
from __future__ import annotations

from .chunks import indices, unmix
from .messages import BROADCAST, Chunk, Hello, Message, Mixed, Need
from .neighbours import NeighbourTable
from .participant import UPDATER_GROUP, Participant, SyncConfig
from .relay import RELAY, Relay
from .serving import Server, Upstream

OVERLAY = "@targets"   # the group every targeted drone beacons and elects leaders in

__all__ = ["SwarmSyncAgent", "DroneAgent", "UpdaterAgent", "SyncConfig", "BROADCAST"]


class SwarmSyncAgent(Participant):
    strategy = "swarmsync"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = UPDATER_GROUP if self.identity.type == UPDATER_GROUP else OVERLAY
        c = self.config
        self.nb = NeighbourTable(c.hello_period, c.neighbour_timeout)
        self._new_transfer()
        self.seq = 0
        self.next_hello = -1.0
        self.leader: str | None = None
        self.elections = 0              # times this drone picked a new leader after its leader fell silent
        self.leader_idle_since: float | None = None
        self.fresh: dict[str, float] = {}   # neighbour -> when it last sent a chunk this drone lacked
        self.relay = Relay(self.name, client_timeout=c.neighbour_timeout, holder_timeout=c.neighbour_timeout,
                           ack_period=c.ack_period)
        self.alone_since: float | None = None   # out of reach of every other drone of the patch since
        self.relay_asked_at = -1e9

    @classmethod
    def updater(cls, *args, **kwargs) -> "SwarmSyncAgent":
        me = super().updater(*args, **kwargs)
        me.leader = me.name
        return me

    def _new_transfer(self) -> None:
        """A fresh serving side and upstream side, at start and for each patch adopted."""
        c = self.config
        self.server = Server(self.name, c.retx_guard, c.client_timeout, c.mix_max)
        self.up = Upstream(c.ack_every, c.ack_period, c.server_timeout, c.tail, tail_factor=c.tail_ack,
                           jitter=c.ack_jitter, rng=self.rng)

    def _adopted(self, now: float) -> None:
        self.alone_since = None
        self._new_transfer()
        self.next_hello = now

    # -- receive ---------------------------------------------------------------------------
    def on_message(self, msg: Message, now: float) -> list:
        if isinstance(msg, Hello):
            self.nb.on_hello(msg, now)
        elif isinstance(msg, Need) and msg.to == self.name and msg.patch == self.store.patch:
            self.server.on_need(msg, self.store.n, now)
        elif isinstance(msg, Mixed) and msg.patch == self.store.patch:
            self._on_mixed(msg, now)
        return []

    def _on_mixed(self, msg: Mixed, now: float) -> None:
        """Recover the one chunk of a repair frame this drone lacks (checked like any chunk)."""
        store = self.store
        group = indices(msg.chunks, store.n)
        lacking = [k for k in group if k not in store.chunks]
        if len(group) < 2 or len(lacking) != 1:
            return
        k = lacking[0]
        chunk = Chunk(msg.sender, msg.patch, k, unmix(msg.data, (store.chunks[j] for j in group if j != k),
                                                      store.length(k)))
        self._on_chunk(chunk, self._keep(chunk, now), now)

    def on_untargeted(self, msg: Message, now: float) -> list:
        patch = self.offer.patch
        if isinstance(msg, Hello):
            self.relay.on_hello(msg, patch, now)
        elif isinstance(msg, Need) and msg.to == RELAY and msg.patch == patch:
            self.relay.on_need(msg, self.offer.n_chunks, now)
        elif isinstance(msg, Chunk) and msg.patch == patch:
            self.relay.on_chunk(msg)
        return []

    def on_untargeted_poll(self, now: float) -> list:
        return self.relay.poll(self.offer.patch, self.offer.n_chunks, self.config.burst, now)

    def _on_chunk(self, chunk: Chunk, new: bool, now: float) -> None:
        self.up.on_chunk(chunk.sender, new, now)
        self.server.overheard(chunk.index, now)
        if new:
            self.fresh[chunk.sender] = now
            if len(self.store) == self.config.first_hello_at:
                # tell the neighbours at once that chunks are here: drones farther out wait for this
                # drone's next hello before they fetch from it, so without this the wave moves one
                # hop per hello period
                self.next_hello = min(self.next_hello, now)

    # -- send ------------------------------------------------------------------------------
    def on_poll(self, now: float) -> list:
        out = []
        if not self.is_updater:
            self._elect(now)
            self._route(now)
        if now >= self.next_hello:
            out.append((BROADCAST, self._hello(now)))
            self.next_hello = now + self.config.hello_period * (0.9 + 0.2 * self.rng.random())
        need = None if self.is_updater else self.up.need(self.name, self.store, now)
        if need is not None:
            out.append((need.to, need))
        elif not self.is_updater and self._alone(now) and now - self.relay_asked_at >= self.config.ack_period:
            self.relay_asked_at = now      # out of everyone's reach: ask untargeted drones to relay
            out.append((BROADCAST, Need(self.name, RELAY, self.store.patch, self.store.have_bitmap())))
        out += [(BROADCAST, c) for c in self.server.next_chunks(self.store, self.config.serve_burst, now)]
        return out

    def _alone(self, now: float) -> bool:
        """Incomplete, and no drone of this patch heard for a neighbour timeout."""
        if self.store.complete or any(n.hello.patch == self.store.patch for n in self.nb.alive(now)):
            self.alone_since = None
            return False
        if self.alone_since is None:
            self.alone_since = now
        return now - self.alone_since >= self.config.neighbour_timeout

    def _hello(self, now: float) -> Hello:
        self.seq += 1
        score = 1e9 if self.is_updater else self.nb.score(self.group, self.battery, now)
        return Hello(self.name, self.seq, self.group, score, self.battery, self.leader or "",
                     self.store.patch, len(self.store), self.store.complete)

    def _elect(self, now: float) -> None:
        score = self.nb.score(self.group, self.battery, now)
        old = self.leader
        self.leader = self.nb.elect(self.name, self.group, score, old, self.config.hysteresis, now)
        if old not in (None, self.name, self.leader):
            gone = self.nb.table.get(old)
            if gone is None or now - gone.heard > 1.25 * self.config.hello_period:
                self.elections += 1     # the old leader missed a hello: a re-election

    def _ahead(self, n, now: float) -> bool:
        """A neighbour that may hold chunks this drone lacks."""
        h = n.hello
        if h.patch != self.store.patch or not self.up.usable(h.sender, now):
            return False
        recent = now - self.fresh.get(h.sender, -1e9) < self.config.hello_period
        return h.complete or h.have > len(self.store) or recent

    def _route(self, now: float) -> None:
        if self.store.complete:
            self.up.choose(None, now)
            return
        if self.up.stalled(now, self.store.n - len(self.store)):
            self.up.choose(None, now)
        alive = {n.hello.sender: n for n in self.nb.alive(now)}
        leader = alive.get(self.leader) if self.leader != self.name else None
        if leader is not None and self._ahead(leader, now):
            self.leader_idle_since = None
            self.up.choose(self.leader, now)
            return
        current = alive.get(self.up.name)
        if current is not None and current is not leader and self._ahead(current, now):
            return
        ahead = [n for n in alive.values() if self._ahead(n, now)]
        if leader is None:
            self.leader_idle_since = None
        elif self.leader_idle_since is None:
            self.leader_idle_since = now
        patient = leader is not None and now - self.leader_idle_since < self.config.leader_patience
        if ahead and not patient:    # the leader has had nothing new for a while: fetch elsewhere
            best = max(ahead, key=lambda n: (n.hello.group == UPDATER_GROUP, n.hello.complete,
                                             n.hello.leader == n.hello.sender, self.nb.quality(n.hello.sender, now),
                                             n.hello.have))
            self.up.choose(best.hello.sender, now)
        elif leader is not None and leader.hello.patch == self.store.patch:
            # nobody has anything new: subscribe to the leader now, so that it forwards each
            # chunk as soon as it gets one (pipelining, not store-and-forward)
            self.up.choose(self.leader, now)
            self.up.waiting(now)
        else:
            self.up.choose(None, now)


DroneAgent = SwarmSyncAgent
UpdaterAgent = SwarmSyncAgent.updater
