"""Discrete-event radio network for protocol agents (anything with ``handle``/``poll``).

Model, per frame: airtime ``(bytes + frame_overhead) * 8 / bitrate`` on a shared medium. A node
senses the carrier (it defers while any frame it can hear is on the air, then backs off a random
``0..backoff`` s), so neighbours never talk over each other, but hidden terminals do: a receiver
that hears two overlapping frames loses both. Each surviving frame copy is lost independently
with probability ``loss + (loss_at_range - loss) * (d / range)^2`` and arrives ``latency`` after
its end. Unicast frames occupy the air and cost receive energy for every node in range but are
handed to their addressee only. Nodes move at every ``mobility_dt``; neighbour queries use a
KD-tree rebuilt then. Events live in one heap, ties broken by insertion order (deterministic).

Per node the simulator counts frames and bytes sent and bytes received; the energy proxy is
``tx_bytes + rx_weight * rx_bytes``. A node can be taken offline for a while (or for good): it
neither sends nor receives, its queue is dropped, its agent keeps its state.
"""
from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from firmware_update.messages import BROADCAST, decode

POLL, TXSTART, TXEND, RX, MOVE, OFFLINE = range(6)


@dataclass(frozen=True)
class NetConfig:
    range: float = 60.0            # m
    loss: float = 0.0              # loss probability of a short link
    loss_at_range: float | None = None   # at the edge of range (None: same as loss)
    bitrate: float = 1e6           # bit/s of the shared channel
    latency: float = 0.002         # s after a frame's end
    frame_overhead: int = 40       # bytes of PHY/MAC header and gaps per frame
    backoff: float = 0.002         # s, random wait before a send and after a busy channel
    collisions: bool = True        # overlapping frames at a receiver are both lost
    mobility_dt: float = 0.25      # s between position updates
    rx_weight: float = 0.5         # energy proxy: weight of a received byte against a sent one


class NetSim:
    def __init__(self, agents: Sequence, move: Callable[[float], np.ndarray], config: NetConfig,
                 rng: np.random.Generator, poll_period: float = 0.1):
        self.agents, self.move, self.cfg, self.rng = list(agents), move, config, rng
        self.m = len(self.agents)
        self.index = {a.name: i for i, a in enumerate(self.agents)}
        self.poll_period = poll_period
        self.pos = np.asarray(move(0.0), float)
        self.tree = cKDTree(self.pos)
        self.t = 0.0
        self.heap: list = []
        self.seq = 0
        self.queue = [deque() for _ in range(self.m)]
        self.sending = np.zeros(self.m, bool)
        self.busy_until = np.zeros(self.m)
        self.rx_end = np.zeros(self.m)
        self.rx_frame = np.full(self.m, -1, np.int64)
        self.collided: set = set()
        self.offline_until = np.zeros(self.m)
        self.tx_bytes = np.zeros(self.m, np.int64)
        self.tx_frames = np.zeros(self.m, np.int64)
        self.rx_bytes = np.zeros(self.m, np.int64)
        self.by_kind: dict[str, list[int]] = {}   # message class -> [frames, bytes]
        self.frames = 0
        self.lost = self.collisions = 0
        self.events = 0
        self.stopped = False
        self.loss_edge = config.loss if config.loss_at_range is None else config.loss_at_range
        for i in range(self.m):
            self._push(self.rng.random() * poll_period, POLL, i)
        self._push(config.mobility_dt, MOVE, -1)

    def _push(self, t: float, kind: int, node: int, data=None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, node, data))

    def online(self, i: int) -> bool:
        return self.offline_until[i] <= self.t

    def take_offline(self, name: str, at: float, duration: float = math.inf) -> None:
        self._push(at, OFFLINE, self.index[name], duration)

    def run(self, until: float, progress: Callable[[float], None] | None = None) -> None:
        """Process events up to time `until` or until `stopped` is set (by an agent callback)."""
        heap, pop = self.heap, heapq.heappop
        while heap and not self.stopped:
            t, _, kind, i, data = pop(heap)
            if t > until:
                heapq.heappush(heap, (t, 0, kind, i, data))
                break
            self.t = t
            self.events += 1
            if kind == RX:
                self._receive(i, data)
            elif kind == POLL:
                if self.online(i):
                    self._poll(i)
                self._push(t + self.poll_period, POLL, i)
            elif kind == TXSTART:
                self._tx_start(i)
            elif kind == TXEND:
                self._tx_end(i)
            elif kind == MOVE:
                self.pos = np.asarray(self.move(self.cfg.mobility_dt), float)
                self.tree = cKDTree(self.pos)
                self._push(t + self.cfg.mobility_dt, MOVE, -1)
                if progress is not None:
                    progress(t)
            elif kind == OFFLINE:
                self.offline_until[i] = t + data
                self.queue[i].clear()

    # -- per node ----------------------------------------------------------------------------
    def _enqueue(self, i: int, out) -> None:
        if not out:
            return
        for dest, msg in out:
            j = -1 if dest == BROADCAST else self.index.get(dest, -2)
            if j == -2:
                continue            # addressed to a node this network does not have
            data = msg.encode()
            self.queue[i].append((j, data, decode(data)))
        if not self.sending[i]:
            self.sending[i] = True
            self._push(self.t + self.rng.random() * self.cfg.backoff, TXSTART, i)

    def _poll(self, i: int) -> None:
        self._enqueue(i, self.agents[i].poll(self.t))

    def _receive(self, j: int, data) -> None:
        frame, msg = data
        if (j, frame) in self.collided:
            self.collided.discard((j, frame))
            return
        if self.online(j):
            self._enqueue(j, self.agents[j].handle(msg, self.t))

    def _tx_start(self, i: int) -> None:
        t, cfg = self.t, self.cfg
        if not self.online(i) or not self.queue[i]:
            self.sending[i] = False
            return
        if self.busy_until[i] > t:
            self._push(self.busy_until[i] + self.rng.random() * cfg.backoff, TXSTART, i)
            return
        dest, data, msg = self.queue[i][0]
        end = t + (len(data) + cfg.frame_overhead) * 8.0 / cfg.bitrate
        self.frames += 1
        frame = self.frames
        nb = np.asarray(self.tree.query_ball_point(self.pos[i], cfg.range), np.intp)
        nb = nb[(nb != i) & (self.offline_until[nb] <= t)]
        self.busy_until[i] = end
        if len(nb):
            self.rx_bytes[nb] += len(data)
            self.busy_until[nb] = np.maximum(self.busy_until[nb], end)
            if cfg.collisions:
                hit = nb[self.rx_end[nb] > t]
                for j in hit.tolist():
                    self.collided.add((j, int(self.rx_frame[j])))
                    self.collided.add((j, frame))
                self.collisions += len(hit)
                later = self.rx_end[nb] < end
                self.rx_frame[nb[later]] = frame
                self.rx_end[nb] = np.maximum(self.rx_end[nb], end)
            if dest >= 0:
                nb = nb[nb == dest]
            if len(nb):
                d = np.linalg.norm(self.pos[nb] - self.pos[i], axis=1) / cfg.range
                keep = self.rng.random(len(nb)) >= cfg.loss + (self.loss_edge - cfg.loss) * d * d
                self.lost += int((~keep).sum())
                for j in nb[keep].tolist():
                    self._push(end + cfg.latency, RX, j, (frame, msg))
        self._push(end, TXEND, i)

    def _tx_end(self, i: int) -> None:
        if not self.queue[i]:          # dropped while offline
            self.sending[i] = False
            return
        _, data, msg = self.queue[i].popleft()
        self.tx_bytes[i] += len(data)
        self.tx_frames[i] += 1
        k = self.by_kind.setdefault(type(msg).__name__, [0, 0])
        k[0] += 1
        k[1] += len(data)
        self.sending[i] = False
        if self.queue[i]:
            self.sending[i] = True
            self._push(self.t + self.rng.random() * self.cfg.backoff, TXSTART, i)
        elif self.online(i):
            self._poll(i)              # the radio is free: let the agent send more

    def energy(self) -> np.ndarray:
        return self.tx_bytes + self.cfg.rx_weight * self.rx_bytes
