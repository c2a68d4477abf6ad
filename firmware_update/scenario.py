"""A dissemination run at scale: fleet, patrol motion, one strategy, the network simulator, figures.

The fleet alternates two platforms (``cf`` = crazyflie_2.1, ``x500`` = px4_x500) and three roles
(scout, mapper, relay); the default target ``type=cf`` is half the swarm in three sub-swarms.
Drones patrol random waypoints in a round area sized so that a drone has ``density`` neighbours
in radio range on average (all drones, targeted or not) at 30-60 % of their platform's top speed
(at most 10 m/s), 5-30 m up. The updater is a ground station at the centre. A run ends when every targeted
drone that is still alive holds the verified blob (or at ``until``); bytes, messages and energy
are counted up to that moment.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from sim.mobility import RandomWaypoint
from sim.netsim import NetConfig, NetSim
from swarm_ros.core.platforms import PLATFORMS

from .adversary import ChunkForger
from .gossip import GossipAgent, GossipParams
from .participant import SyncConfig
from .protocol import SwarmSyncAgent
from .selector import DroneIdentity, TargetSelector
from .soul import SoulAgent, SoulParams

STRATEGIES = {"swarmsync": SwarmSyncAgent, "gossip": GossipAgent, "soul": SoulAgent}
TYPES = (("cf", "crazyflie_2.1"), ("x500", "px4_x500"))
ROLES = ("scout", "mapper", "relay")
UPDATER = "updater"


@dataclass(frozen=True)
class Failure:
    """Take `who` (a drone name, or "leader": the leader most targeted drones follow) offline."""
    at: float
    who: str
    duration: float = math.inf


@dataclass(frozen=True)
class Scenario:
    drones: int = 100
    strategy: str = "swarmsync"
    target: str = "type=cf"
    size: int = 65536             # bytes of the patch blob
    loss: float = 0.0
    seed: int = 0
    density: float = 24.0         # mean neighbours in range
    range: float = 60.0           # m
    bitrate: float = 1e6          # bit/s
    until: float = 600.0          # s of simulated time at most
    failures: tuple[Failure, ...] = ()
    forgers: int = 0              # hostile nodes forging every chunk they hear
    sync: SyncConfig = field(default_factory=SyncConfig)
    gossip: GossipParams = field(default_factory=GossipParams)
    soul: SoulParams = field(default_factory=SoulParams)


def fleet(n: int) -> list[DroneIdentity]:
    return [DroneIdentity(f"d{i:04d}", TYPES[i % 2][0], TYPES[i % 2][1], ROLES[(i // 2) % 3]) for i in range(n)]


def area_radius(s: Scenario) -> float:
    return s.range * math.sqrt(s.drones / s.density)


class Dissemination:
    """One scenario built and ready to step: the simulator, the agents, the targets."""

    def __init__(self, s: Scenario, progress=None):
        self.s, self.t_wall = s, time.perf_counter()
        rng = np.random.default_rng([s.seed, 2])      # radio: loss draws and back-offs
        motion = np.random.default_rng([s.seed, 1])   # separate, so every strategy sees the same flight
        ids = fleet(s.drones)
        self.targets = {d.name for d in TargetSelector.parse(s.target).select(ids)}
        self.blob = np.random.default_rng([s.seed, 3]).integers(0, 256, s.size, dtype=np.uint8).tobytes()
        patch = hashlib.sha256(self.blob).hexdigest()[:12]
        cls = STRATEGIES[s.strategy]
        self.remaining = set(self.targets)
        self.snap: dict = {}
        self.agents = [cls(d, s.sync, seed=s.seed, on_complete=self._completed(d.name)) for d in ids]
        self.agents.append(cls.updater(UPDATER, self.blob, patch, 1, s.target, s.sync, seed=s.seed))
        for a in self.agents:
            a.params = s.gossip if s.strategy == "gossip" else s.soul
        self.by_name = {a.name: a for a in self.agents}
        self.radius = area_radius(s)
        speed_max = np.array([min(PLATFORMS[d.platform].max_speed, 10.0) for d in ids])
        mob = RandomWaypoint(s.drones, (0, 0), self.radius, (5, 30), speed_max * motion.uniform(0.3, 0.6, s.drones),
                             motion)
        angle = 2 * np.pi * np.arange(s.forgers) / max(s.forgers, 1)
        self.forgers = [ChunkForger(k, s.seed) for k in range(s.forgers)]
        fixed = np.vstack([[0.0, 0.0, 2.0], np.column_stack([10 * np.cos(angle), 10 * np.sin(angle),
                                                             np.full(s.forgers, 10.0)])])

        def move(dt):
            return np.vstack([mob.step(dt) if dt > 0 else mob.position, fixed])

        net = NetConfig(range=s.range, loss=s.loss, bitrate=s.bitrate)
        self.sim = NetSim(self.agents + self.forgers, move, net, rng, poll_period=s.sync.poll_period)
        self.dead: set[str] = set()
        self.outages: list[dict] = []
        self.report = None if progress is None else (
            lambda t: progress(t, len(self.targets) - len(self.remaining), len(self.targets)))

    def _completed(self, name: str):
        def hook(offer, data):
            self.remaining.discard(name)
            self._check_done()
        return hook

    def _check_done(self) -> None:
        if not self.remaining and not self.snap:
            self.snap.update(_counters(self.sim, self.s.drones))
            self.sim.stopped = True

    def run_until(self, t: float) -> bool:
        """Simulate up to time t; True once every live target holds the blob."""
        self.sim.run(t, self.report)
        return self.sim.stopped

    def fail(self, who: str, duration: float = math.inf) -> str | None:
        """Take a drone (or "leader") offline now; returns the drone's name."""
        who = _leader_of(self.agents, self.targets) if who == "leader" else who
        if who is None or who not in self.sim.index:
            return None
        self.sim.take_offline(who, self.sim.t, duration)
        self.outages.append({"drone": who, "at": self.sim.t, "duration": None if duration == math.inf else duration})
        if duration == math.inf:
            self.dead.add(who)
            self.remaining.discard(who)
            self._check_done()
        return who

    def result(self) -> dict:
        s, sim = self.s, self.sim
        live = self.targets - self.dead
        done_at = sorted(self.by_name[n].completed_at for n in live if self.by_name[n].completed_at is not None)
        converged = len(done_at) == len(live)
        k95 = math.ceil(0.95 * len(live))      # drones that make "95 % done"
        held_outside = sum(1 for a in self.agents[:-1] if a.name not in self.targets and a.store is not None)
        return {
            "strategy": s.strategy, "drones": s.drones, "targets": len(self.targets), "target": s.target,
            "size_bytes": s.size, "loss": s.loss, "seed": s.seed, "area_radius_m": round(self.radius, 1),
            "converged": converged, "completed": len(done_at), "live_targets": len(live),
            "convergence_s": done_at[-1] if converged and done_at else None,
            "t95_s": done_at[k95 - 1] if len(done_at) >= k95 > 0 else None,
            "mean_completion_s": float(np.mean(done_at)) if done_at else None,
            "outages": self.outages, "non_targets_holding_patch": held_outside,
            # untargeted SwarmSync drones forwarding for an isolated target: chunks sent, most held at once
            "relayed_chunks": sum(a.relay.forwarded for a in self.agents[:-1] if hasattr(a, "relay")),
            "relay_peak_chunks": max((a.relay.peak for a in self.agents[:-1] if hasattr(a, "relay")), default=0),
            "elections": sum(getattr(a, "elections", 0) for a in self.agents),
            "forged_sent": sum(f.forged for f in self.forgers),
            "chunks_refused": sum(a.store.refused for a in self.agents[:-1] if a.store is not None),
            **(self.snap or _counters(sim, s.drones)), "sim_time_s": sim.t, "events": sim.events,
            "wall_s": time.perf_counter() - self.t_wall,
        }


def run(s: Scenario, progress=None) -> dict:
    """Simulate one dissemination; `progress(t, done, total)` is called at every mobility step."""
    d = Dissemination(s, progress)
    for f in sorted(s.failures, key=lambda f: f.at):
        if d.run_until(f.at):
            break
        d.fail(f.who, f.duration)
    if not d.sim.stopped:
        d.run_until(s.until)
    return d.result()


def _counters(sim: NetSim, drones: int) -> dict:
    energy = sim.energy()[:drones]    # drones only, not the ground station or forgers
    honest = slice(0, drones + 1)     # drones and the updater
    return {"bytes_sent": int(sim.tx_bytes[honest].sum()), "messages_sent": int(sim.tx_frames[honest].sum()),
            "by_kind": {k: {"messages": v[0], "bytes": v[1]} for k, v in sorted(sim.by_kind.items())},
            "energy_mean": float(energy.mean()), "energy_max": float(energy.max()),
            "lost": sim.lost, "collisions": sim.collisions}


def _leader_of(agents, targets) -> str | None:
    """The leader most targeted drones currently follow (SwarmSync); None for other strategies."""
    votes: dict[str, int] = {}
    for a in agents:
        lead = getattr(a, "leader", None)
        if a.name in targets and lead in targets:
            votes[lead] = votes.get(lead, 0) + 1
    return max(sorted(votes), key=votes.get) if votes else None
