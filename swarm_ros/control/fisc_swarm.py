"""A steady stream of FISC-like agents through a channel: spawn at the inlet, leave at the exit.

Batched over all agents: one step takes the neighbour pairs from a Verlet list
(swarm_ros/core/verlet.py: rebuilt only when agents have moved more than `skin` h; the same
numbers as a fresh query every step, skin = 0), then runs the controller
(swarm_ros.control.fisc; `backend` numpy, or numba for its compiled twin) and the point-mass response of sim/pointmass.py (first-order velocity
tracking with time constant `response_time`, acceleration clipped to `max_accel`). The channel
starts filled with a jittered lattice at rest density; spawn slots, one spacing apart across the
inlet next to the back wall, get a new agent at rest whenever no agent is within 0.8 spacing, so
the inlet zone stays supplied. Agents past the exit plane leave. Probe planes count net
crossings, which gives the volume flux (agents/s) through them.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

from swarm_ros.core.compiled import backend_name, jit
from swarm_ros.core.verlet import VerletPairs

from swarm_ros.control.fisc import FiscParams, Limits, fisc_command
from swarm_ros.core.platforms import PLATFORMS, VehicleParams
from sim.channel import Channel


class FiscChannelSim:
    def __init__(self, channel: Channel, params: FiscParams = FiscParams(),
                 vehicle: VehicleParams = PLATFORMS["crazyflie_2.1"], dt: float = 0.05,
                 probes=None, seed: int = 0, fill: bool = True, skin: float = 0.3, backend: str | None = None):
        self.channel, self.params, self.dt = channel, params, float(dt)
        self.backend = backend_name(backend)
        self.neighbours = VerletPairs(params.h, skin * params.h, self.backend)
        self.limits = Limits.of(vehicle)
        self.vehicle = vehicle
        s, dim = params.spacing, channel.dim
        rng = np.random.default_rng(seed)
        self.pos = channel.lattice(s) if fill else np.zeros((0, dim))
        self.pos += rng.uniform(-0.05 * s, 0.05 * s, self.pos.shape)
        self.vel = np.zeros_like(self.pos)
        slots = channel.lattice(s, x_max=s)
        self.slots = slots[np.abs(slots[:, 0] - 0.5 * s) < 1e-9]
        s0 = channel.stations
        self.probes = np.asarray(probes if probes is not None else
                                 (0.5 * (channel.inlet_zone + s0[1]), channel.throat_x,
                                  0.5 * (s0[4] + channel.length - channel.outlet_zone)), float)
        self.crossings = np.zeros(len(self.probes))
        self._probe_order = np.argsort(self.probes)
        self._sorted_probes = self.probes[self._probe_order]
        self.t = 0.0
        self.steps = 0
        self.spawned = 0
        self.exited = 0

    @property
    def n(self) -> int:
        return len(self.pos)

    def step(self, sample=None) -> None:
        """One control + physics step; `sample(pos, vel, fields)` sees the state the command used."""
        p = self.params
        pi, pj = self.neighbours.pairs(self.pos)
        v_cmd, fields = fisc_command(self.pos, self.vel, pi, pj, self.channel, p, self.limits, self.backend)
        if sample is not None:
            sample(self.pos, self.vel, fields)
        reach = 0.8 * p.spacing
        if self.backend == "numba":     # the compiled twin of _advance
            gone, empty = _advance_jit(self.pos, self.vel, v_cmd, float(self.limits.response_time),
                                       float(self.limits.max_accel), self.dt, self._sorted_probes, self._probe_order,
                                       self.crossings, self.channel.length, self.slots, reach)
        else:
            gone, empty = self._advance(v_cmd, reach)
        if gone.any():
            self.exited += int(gone.sum())
            keep = ~gone
            self.pos, self.vel = self.pos[keep], self.vel[keep]
            self.neighbours.keep(keep)
        if empty.any():
            self.pos = np.vstack([self.pos, self.slots[empty]])
            self.vel = np.vstack([self.vel, np.zeros((int(empty.sum()), self.channel.dim))])
            self.neighbours.append(self.slots[empty])
            self.spawned += int(empty.sum())
        self.t += self.dt
        self.steps += 1

    def _advance(self, v_cmd: np.ndarray, reach: float):
        """Move every agent (first-order velocity response with the acceleration limit, as
        sim/pointmass.py), count probe crossings; returns (agents past the exit, spawn slots with
        no agent strictly closer than `reach` before the move)."""
        x_old = self.pos[:, 0].copy()
        blockers = self.pos[x_old < self.slots[:, 0].max() + reach]
        d = self.slots[:, None, :] - blockers[None, :, :]
        empty = ~np.any(np.einsum("ijk,ijk->ij", d, d) < reach * reach, axis=1)
        a = (v_cmd - self.vel) / self.limits.response_time
        amag = np.sqrt(np.einsum("ij,ij->i", a, a))
        a *= np.minimum(1.0, self.limits.max_accel / np.maximum(amag, 1e-12))[:, None]
        self.vel += a * self.dt
        self.pos += self.vel * self.dt
        x_new = self.pos[:, 0]
        # net crossings of each probe plane: an agent moving from band a to band b (bands between
        # sorted planes) crossed planes a .. b-1 forwards, or b .. a-1 backwards
        a = np.searchsorted(self._sorted_probes, x_old, side="right")
        b = np.searchsorted(self._sorted_probes, x_new, side="right")
        for k in np.flatnonzero(a != b):
            lo, hi = min(a[k], b[k]), max(a[k], b[k])
            self.crossings[self._probe_order[lo:hi]] += 1 if b[k] > a[k] else -1
        return x_new > self.channel.length, empty

    def reset_flux(self) -> None:
        self.crossings[:] = 0.0
        self._flux_t0 = self.t

    def flux(self) -> np.ndarray:
        """Net agents per second through each probe plane since the last reset_flux()."""
        return self.crossings / max(self.t - getattr(self, "_flux_t0", 0.0), 1e-12)

    def min_separation(self) -> float:
        if self.n < 2:
            return float("inf")
        d, _ = cKDTree(self.pos).query(self.pos, k=2)
        return float(d[:, 1].min())


def _advance_impl(pos, vel, v_cmd, tau, max_accel, dt, probes, order, crossings, length, slots, reach):
    """Compiled twin of FiscChannelSim._advance (same operations, agent by agent)."""
    n, dim = pos.shape
    gone = np.empty(n, np.bool_)
    empty = np.ones(len(slots), np.bool_)
    near = slots[:, 0].max() + reach
    acc = np.empty(dim)
    for i in range(n):
        x_old = pos[i, 0]
        if x_old < near:
            for s in range(len(slots)):
                d2 = 0.0
                for c in range(dim):
                    d = slots[s, c] - pos[i, c]
                    d2 += d * d
                if d2 < reach * reach:
                    empty[s] = False
        a2 = 0.0
        for c in range(dim):
            acc[c] = (v_cmd[i, c] - vel[i, c]) / tau
            a2 += acc[c] * acc[c]
        scale = min(1.0, max_accel / max(np.sqrt(a2), 1e-12))
        for c in range(dim):
            vel[i, c] += acc[c] * scale * dt
            pos[i, c] += vel[i, c] * dt
        a = np.searchsorted(probes, x_old, side="right")
        b = np.searchsorted(probes, pos[i, 0], side="right")
        for k in range(min(a, b), max(a, b)):
            crossings[order[k]] += 1.0 if b > a else -1.0
        gone[i] = pos[i, 0] > length
    return gone, empty


_advance_jit = jit(_advance_impl, nogil=True)


class SafetyWatch:
    """Pass `sample` as FiscChannelSim.step's callback: the worst agent-agent separation and wall
    clearance over the steps seen, with the run's counts, as a summary."""

    def __init__(self, sim):
        self.sim, self.sep, self.clear, self.steps = sim, np.inf, np.inf, 0
        self.t0 = time.perf_counter()
        self.agent_steps = 0

    def sample(self, pos, vel, fields) -> None:
        if len(pos) > 1:
            self.sep = min(self.sep, float(cKDTree(pos).query(pos, k=2)[0][:, 1].min()))
        if len(pos):
            self.clear = min(self.clear, float(self.sim.channel.clearance(pos).min()))
        self.steps += 1
        self.agent_steps += len(pos)

    def summary(self, name: str) -> dict:
        sim, wall = self.sim, time.perf_counter() - self.t0
        return {"swarm": name, "sim_time": sim.t, "steps": self.steps, "agents_now": sim.n,
                "spawned": sim.spawned, "exited": sim.exited, "min_separation": self.sep,
                "contact_distance": 2 * sim.vehicle.body_radius, "contacts": bool(self.sep < 2 * sim.vehicle.body_radius),
                "min_wall_clearance": self.clear, "left_channel": bool(self.clear < 0),
                "flux_agents_per_s": dict(zip(("inlet", "throat", "outlet"), sim.flux().tolist())),
                "wall_seconds": wall, "agent_steps_per_wall_s": self.agent_steps / max(wall, 1e-9)}


def steady_run(sim: FiscChannelSim, warmup: float, duration: float, cell: float = 0.5):
    """Fly `warmup` seconds, then `duration` seconds sampling fields and fluxes.

    Returns (fields binner, minimum agent separation over the sampled steps, minimum wall
    clearance over the sampled steps)."""
    from sim.fisc_fields import FieldBinner
    for _ in range(int(round(warmup / sim.dt))):
        sim.step()
    binner = FieldBinner(sim.channel, cell)
    sim.reset_flux()
    watch = SafetyWatch(sim)

    def sample(pos, vel, fields):
        binner.add(pos, vel, fields)
        watch.sample(pos, vel, fields)

    for _ in range(int(round(duration / sim.dt))):
        sim.step(sample)
    return binner, watch.sep, watch.clear
