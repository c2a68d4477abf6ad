"""FISC-like fluid-pressure outer loop: a swarm that flows through a channel like a fluid.

"FISC-like" because the paper (Kolluri et al., arXiv 2602.00480) could not be read beyond its
abstract: its agent-to-fluid mapping and control law are unknown. This law is designed from
fluid mechanics (weakly compressible SPH) and is to be judged by the CFD comparison.

Each agent estimates fluid fields from what its own sensors see of the agents within its
sensing radius (>= 2h; positions and velocities, nothing communicated):

- density rho_i = sum_j W(r_ij, h) over agents within h, itself included (agents per m^2 or
  m^3), plus rho0 times the kernel mass hidden behind each wall (a mirror reservoir);
- velocity u_i: kernel-weighted mean of the agents' velocities (itself included);
- temperature T_i: kernel-weighted variance of those velocities about u_i, per axis (m^2/s^2);
  estimated and reported, not used by the law;
- pressure from a linear equation of state floored at zero, P = c^2 max(rho - rho0, 0): a
  sparse swarm does not pull itself together (negative SPH pressure clumps agents). In the
  inlet zone P = P_in = inlet_compression rho0 c^2 (blended into the EOS over the zone's last h),
  across the outlet zone P is blended to P_out at the exit plane: the pressure boundary
  condition that drives the flow. A neighbour's pressure comes from its density, which
  the agent computes from the agents it senses within h of that neighbour (hence 2h).

Command (acceleration): the symmetric SPH pressure force -sum_j (P_i/rho_i^2 + P_j/rho_j^2)
grad W_ij, the wall's mirror pressure, viscosity as relaxation towards the kernel-mean velocity
(a discrete Laplacian of velocity), a weak drag to still air (Darcy-like friction that gives the
flow a steady state below the vehicles' speed), and a short-range wall repulsion. It is clipped
to max_accel and becomes a velocity setpoint v + tau a for a vehicle with response time tau,
clipped to the speed limits, with the approach speed to every wall capped so that no agent
leaves the channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm_ros.core.compiled import backend_name
from swarm_ros.core.neighbours import pairs_within
from swarm_ros.core.platforms import VehicleParams
from . import fisc_kernel as K


class ParamError(ValueError):
    """A FiscParams field out of range: `field`, the value, and what is allowed."""

    def __init__(self, field: str, value, allowed: str):
        super().__init__(f"{field} must be {allowed}, got {value!r}")
        self.field, self.value, self.allowed = field, value, allowed


_MAY_BE_ZERO = ("inlet_compression", "outlet_pressure", "viscosity", "drag", "wall_accel", "separation",
                "separation_accel", "body_radius")


@dataclass(frozen=True)
class FiscParams:
    spacing: float = 0.4             # m, rest spacing of agents: rho0 = spacing^-dim
    smoothing: float = 2.5           # smoothing length h in spacings
    sound_speed: float = 3.0         # m/s, stiffness of the equation of state
    inlet_compression: float = 0.15  # P_in = inlet_compression * rho0 * c^2
    outlet_pressure: float = 0.0     # P_out, same units as P (agents m^-dim m^2/s^2)
    viscosity: float = 2.0           # 1/s, relaxation rate towards the kernel-mean velocity
    drag: float = 0.1                # 1/s, linear drag to still air
    wall_range: float = 0.3          # m, wall repulsion acts within this distance
    wall_accel: float = 2.0          # m/s^2, wall repulsion at zero distance
    separation: float = 0.6          # agents closer than this many spacings push apart ...
    separation_accel: float = 4.0    # ... with this acceleration (m/s^2) at zero distance
    body_radius: float = 0.07        # m, no agent's centre gets closer to a wall than this

    def __post_init__(self):
        for name, value in self.__dict__.items():
            allowed = ">= 0" if name in _MAY_BE_ZERO else "> 0"
            if not (np.isfinite(value) and (value >= 0 if name in _MAY_BE_ZERO else value > 0)):
                raise ParamError(name, value, f"a finite number {allowed}")
        if not self.separation < self.smoothing:
            # the push acts only between listed pairs (within h): a longer range would be cut off
            raise ParamError("separation", self.separation, f"< smoothing ({self.smoothing:g} spacings)")

    @property
    def h(self) -> float:
        return self.smoothing * self.spacing

    def rho0(self, dim: int) -> float:
        return self.spacing ** -dim

    def inlet_pressure(self, dim: int) -> float:
        return self.inlet_compression * self.rho0(dim) * self.sound_speed ** 2


@dataclass(frozen=True)
class Limits:
    """Vehicle limits the command respects (scalars or per-agent arrays)."""
    max_speed: float | np.ndarray
    max_accel: float | np.ndarray
    response_time: float | np.ndarray
    max_climb: float | np.ndarray = np.inf
    max_descent: float | np.ndarray = np.inf

    @classmethod
    def of(cls, v: VehicleParams) -> "Limits":
        return cls(v.max_speed, v.max_accel, v.response_time, v.max_climb, v.max_descent)


@dataclass
class Fields:
    """Per-agent estimates: density (N,), velocity (N, dim), temperature (N,), pressure (N,)."""
    rho: np.ndarray
    u: np.ndarray
    T: np.ndarray
    P: np.ndarray


def fisc_command(pos: np.ndarray, vel: np.ndarray, pi: np.ndarray, pj: np.ndarray, channel,
                 params: FiscParams, limits: Limits, backend: str | None = None) -> tuple[np.ndarray, Fields]:
    """Velocity setpoints (N, dim) and field estimates for agents at pos/vel (N, dim).

    (pi, pj): every unordered pair of agents closer than h, once; a superset is fine (pairs at
    h or beyond add exactly nothing, the kernel having compact support). The numbers for agent i
    depend only on agents within 2h of it, so an agent that senses those computes the same
    command. `backend`: "numpy" (`law`, the reference), "numba" (its compiled twin, fisc_jit.py)
    or "cupy" (`law` on the GPU, fisc_gpu.py); None: as swarm_ros/core/compiled.py decides.
    """
    backend = backend_name(backend)
    wall_d, wall_n = channel.walls(pos, reach=wall_reach(params, limits, pos.shape[1]),
                                   backend="numpy" if backend == "cupy" else backend)
    if backend == "numba":
        from . import fisc_jit as J     # imports numba: only when it runs
        v, rho, u, T, P = J.command(pos, vel, pi, pj, wall_d, wall_n, channel, params, limits)
        return v, Fields(rho, u, T, P)
    if backend == "cupy":
        from .fisc_gpu import on_device
        return on_device(law, pos, vel, pi, pj, wall_d, wall_n, channel, params, limits)
    return law(np, pos, vel, pi, pj, wall_d, wall_n, channel, params, limits)


def law(xp, pos, vel, pi, pj, wall_d, wall_n, channel, params: FiscParams, limits: Limits):
    """The law in array code for the module `xp` (numpy, or CuPy with every array on the GPU)."""
    n, dim = pos.shape
    h, rho0 = params.h, params.rho0(dim)
    # one contiguous array per axis and `take`: several times faster than gathering (P, dim) rows
    xs = [xp.ascontiguousarray(pos[:, k]) for k in range(dim)]
    vs = [xp.ascontiguousarray(vel[:, k]) for k in range(dim)]
    d = [x.take(pi) - x.take(pj) for x in xs]
    r2 = d[0] * d[0]
    for dk in d[1:]:
        r2 += dk * dk
    r = np.sqrt(r2)
    w, dwr = K.kernel_and_slope(r, h, dim)
    qw = np.maximum(wall_d, 0.0) / h
    w0 = K.sigma(h, dim)
    wsum = w0 + np.bincount(pi, w, n) + np.bincount(pj, w, n)
    rho = wsum + rho0 * K.wall_fraction(qw, dim, xp).sum(axis=1)
    # kernel moments of velocity: mean and variance about it
    u = xp.empty((n, dim))
    v2 = vs[0] * vs[0]
    for v in vs[1:]:
        v2 += v * v
    m2 = w0 * v2 + _pair_sum(pi, pj, w, v2, n)
    u2 = xp.zeros(n)
    for k, v in enumerate(vs):
        u[:, k] = (w0 * v + _pair_sum(pi, pj, w, v, n)) / wsum
        u2 += u[:, k] * u[:, k]
    T = np.maximum(m2 / wsum - u2, 0.0) / dim
    P = pressure(xs[0], rho, channel, params, dim)
    # symmetric SPH pressure force; grad_i W_ij = (dW/dr / r) (p_i - p_j)
    por = P / (rho * rho)
    coef = por.take(pi)
    coef += por.take(pj)
    coef *= dwr
    # collision avoidance, not fluid: a short-range push between agents closer than `separation`
    sep = params.separation * params.spacing
    close = np.flatnonzero(r < sep)
    if len(close):
        rc = np.maximum(r[close], 1e-9)
        coef[close] -= params.separation_accel * (1.0 - rc / sep) ** 2 / rc
    acc = xp.empty((n, dim))
    for k in range(dim):
        f = coef * d[k]
        acc[:, k] = np.bincount(pj, f, n) - np.bincount(pi, f, n)
    # walls: mirror reservoir at rho0 with the agent's own pressure, plus short-range repulsion
    near = wall_d < h
    push = 2.0 * por[:, None] * rho0 * K.wall_fraction_slope(qw, dim, xp) / h * near
    push += params.wall_accel * np.clip(1.0 - wall_d / params.wall_range, 0.0, 1.0) ** 2
    acc += np.einsum("nk,nkd->nd", push, wall_n)
    acc += params.viscosity * (u - vel) - params.drag * vel
    fields = Fields(rho, u, T, P)
    return limit_command(vel, acc, wall_d, wall_n, params, limits, xp), fields


def _pair_sum(pi, pj, w, values, n):
    """sum_j w_ij values_j for every agent, from unordered pairs (both directions)."""
    a = values.take(pj)
    a *= w
    b = values.take(pi)
    b *= w
    return np.bincount(pi, a, n) + np.bincount(pj, b, n)


def wall_reach(params: FiscParams, lim: Limits, dim: int) -> float:
    """Beyond this distance a wall changes nothing: kernel support, repulsion range, and the
    clearance at which the approach-speed cap exceeds any speed the vehicle may command."""
    vcap = np.max(lim.max_speed) if dim == 2 else float(np.hypot(np.max(lim.max_speed),
                                                                  max(np.max(lim.max_climb), np.max(lim.max_descent))))
    guard = params.body_radius + 2.0 * float(np.max(lim.response_time)) * vcap
    return float(max(params.h, params.wall_range, guard))


def pressure(x: np.ndarray, rho: np.ndarray, channel, params: FiscParams, dim: int) -> np.ndarray:
    """Equation of state, then the inlet/outlet boundary condition by zone."""
    rho0 = params.rho0(dim)
    P = params.sound_speed ** 2 * np.maximum(rho - rho0, 0.0)
    # inlet: P_in up to one smoothing length before the zone's end, then blended into the EOS
    # over that length (a step in P would shoot agents out of the zone as a jet)
    beta = np.clip((channel.inlet_zone - x) / params.h, 0.0, 1.0)
    P += beta * (params.inlet_pressure(dim) - P)
    # outlet: blended from the EOS to P_out across the zone, reaching P_out at the exit plane
    gamma = np.clip((x - (channel.length - channel.outlet_zone)) / channel.outlet_zone, 0.0, 1.0)
    P += gamma * (params.outlet_pressure - P)
    return P


def limit_command(vel, acc, wall_d, wall_n, params: FiscParams, lim: Limits, xp=np) -> np.ndarray:
    """Acceleration -> velocity setpoint within the vehicle limits, never driving into a wall."""
    dim = vel.shape[1]
    amag = np.sqrt(np.einsum("ij,ij->i", acc, acc))
    acc = acc * np.minimum(1.0, lim.max_accel / np.maximum(amag, 1e-12))[:, None]
    tau = xp.asarray(lim.response_time, float)
    tau = tau if tau.ndim == 0 else tau[:, None]
    v = vel + tau * acc
    _clip_speed(v, lim, xp)
    # approach speed to a wall at most (clearance - body radius) / (2 tau): an exponential
    # approach that a first-order vehicle follows without overshooting the wall
    allowed = np.maximum(wall_d - params.body_radius, 0.0)
    allowed *= -0.5 / tau
    short = np.maximum(allowed - np.einsum("nd,nkd->nk", v, wall_n), 0.0)
    v += np.einsum("nk,nkd->nd", short, wall_n)
    if dim == 2:
        return v
    _clip_speed(v, lim, xp)
    return v


def _clip_speed(v: np.ndarray, lim: Limits, xp=np) -> None:
    hs = np.hypot(v[:, 0], v[:, 1])
    scale = np.minimum(1.0, lim.max_speed / np.maximum(hs, 1e-12))
    v[:, 0] *= scale
    v[:, 1] *= scale
    if v.shape[1] == 3:
        np.clip(v[:, 2], -xp.asarray(lim.max_descent), xp.asarray(lim.max_climb), out=v[:, 2])


def fisc_step_batched(pos, vel, channel, params: FiscParams, limits: Limits, backend: str | None = None):
    """The batched step: neighbour pairs from a KD-tree (O(N log N)), then `fisc_command`."""
    pi, pj = pairs_within(pos, params.h)
    return fisc_command(pos, vel, pi, pj, channel, params, limits, backend)


def fisc_step_agent(own_pos, own_vel, sensed_pos, sensed_vel, channel, params: FiscParams, limits: Limits):
    """One agent's step from its own state and the agents it senses (any range; those beyond
    2h are ignored). Returns its velocity setpoint (dim,) and its field estimates."""
    pos = np.vstack([np.reshape(own_pos, (1, -1)), np.reshape(sensed_pos, (-1, len(own_pos)))])
    vel = np.vstack([np.reshape(own_vel, (1, -1)), np.reshape(sensed_vel, (-1, len(own_vel)))])
    keep = np.einsum("ij,ij->i", pos - pos[0], pos - pos[0]) <= (2.0 * params.h) ** 2
    pos, vel = pos[keep], vel[keep]
    v, f = fisc_step_batched(pos, vel, channel, params, limits, backend_name(small=True))
    return v[0], Fields(f.rho[:1], f.u[:1], f.T[:1], f.P[:1])
