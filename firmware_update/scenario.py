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
from swarm_ros.platforms import PLATFORMS

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
    sync: SyncConfig = field(default_factory=SyncConfig)
    gossip: GossipParams = field(default_factory=GossipParams)
    soul: SoulParams = field(default_factory=SoulParams)


def fleet(n: int) -> list[DroneIdentity]:
    return [DroneIdentity(f"d{i:04d}", TYPES[i % 2][0], TYPES[i % 2][1], ROLES[(i // 2) % 3]) for i in range(n)]


def area_radius(s: Scenario) -> float:
    return s.range * math.sqrt(s.drones / s.density)


def run(s: Scenario, progress=None) -> dict:
    """Simulate one dissemination; `progress(t, done, total)` is called at every mobility step."""
    t_wall = time.perf_counter()
    rng = np.random.default_rng([s.seed, 2])      # radio: loss draws and back-offs
    motion = np.random.default_rng([s.seed, 1])   # separate, so every strategy sees the same flight
    ids = fleet(s.drones)
    targets = {d.name for d in TargetSelector.parse(s.target).select(ids)}
    blob = np.random.default_rng(s.seed + 1).integers(0, 256, s.size, dtype=np.uint8).tobytes()
    patch = hashlib.sha256(blob).hexdigest()[:12]
    cls = STRATEGIES[s.strategy]
    remaining = set(targets)
    snap: dict = {}

    def completed(agent_name):
        def hook(offer, data):
            remaining.discard(agent_name)
            if not remaining and not snap:
                snap.update(_counters(sim))
                sim.stopped = True
        return hook

    agents = [cls(d, s.sync, seed=s.seed, on_complete=completed(d.name)) for d in ids]
    agents.append(cls.updater(UPDATER, blob, patch, 1, s.target, s.sync, seed=s.seed))
    for a in agents:
        a.params = s.gossip if s.strategy == "gossip" else s.soul
    radius = area_radius(s)
    speed_max = np.array([min(PLATFORMS[d.platform].max_speed, 10.0) for d in ids])
    mob = RandomWaypoint(s.drones, (0, 0), radius, (5, 30), speed_max * motion.uniform(0.3, 0.6, s.drones), motion)
    station = np.array([[0.0, 0.0, 2.0]])

    def move(dt):
        return np.vstack([mob.step(dt) if dt > 0 else mob.position, station])

    net = NetConfig(range=s.range, loss=s.loss, bitrate=s.bitrate)
    sim = NetSim(agents, move, net, rng, poll_period=s.sync.poll_period)
    dead: set[str] = set()
    outages = []
    report = None if progress is None else (lambda t: progress(t, len(targets) - len(remaining), len(targets)))
    for f in sorted(s.failures, key=lambda f: f.at):
        sim.run(f.at, report)
        if sim.stopped:
            break
        who = _leader_of(agents, targets) if f.who == "leader" else f.who
        if who is None or who not in sim.index:
            continue
        sim.take_offline(who, sim.t, f.duration)
        outages.append({"drone": who, "at": sim.t, "duration": None if f.duration == math.inf else f.duration})
        if f.duration == math.inf:
            dead.add(who)
            remaining.discard(who)
    if not sim.stopped:
        sim.run(s.until, report)
    by_name = {a.name: a for a in agents}
    live = targets - dead
    done_at = [by_name[n].completed_at for n in live]
    converged = all(t is not None for t in done_at)
    counters = snap or _counters(sim)
    installed_outside = sum(1 for a in agents[:-1] if a.name not in targets and (a.blob is not None or a.store is not None))
    return {
        "strategy": s.strategy, "drones": s.drones, "targets": len(targets), "target": s.target,
        "size_bytes": s.size, "loss": s.loss, "seed": s.seed, "area_radius_m": round(radius, 1),
        "converged": converged, "completed": sum(t is not None for t in done_at), "live_targets": len(live),
        "convergence_s": max(done_at) if converged and done_at else None,
        "mean_completion_s": float(np.mean([t for t in done_at if t is not None])) if any(done_at) else None,
        "outages": outages,
        "non_targets_holding_patch": installed_outside,
        "elections": sum(getattr(a, "elections", 0) for a in agents),
        **counters, "sim_time_s": sim.t, "events": sim.events, "wall_s": time.perf_counter() - t_wall,
    }


def _counters(sim: NetSim) -> dict:
    energy = sim.energy()[:-1]        # drones only, not the ground station
    return {"bytes_sent": int(sim.tx_bytes.sum()), "messages_sent": int(sim.tx_frames.sum()),
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
