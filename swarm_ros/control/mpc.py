"""Position-tracking MPC per platform (casadi QP), and the tracking layer that puts it under any
outer-loop controller.

Model: a 3-D double integrator (position, velocity; acceleration is the input) over `horizon`
steps of `dt`. Constraints come from the vehicle profile (platforms.py) and hold at every step:
horizontal speed <= max_speed, vertical speed within [-max_descent, max_climb], acceleration
norm <= max_accel. The round limits are written as inscribed polygons (an octagon in the
horizontal plane; an octagonal prism for the acceleration, split between horizontal and
vertical as below), so every feasible plan meets the true limits and the problem stays a QP.
The QP is condensed (inputs only), so its Hessian and constraint matrix are constant per
platform: only the gradient and bounds change per solve. Each solve is warm-started from the
previous plan shifted by one step (primal and duals).

Solver: `qpoases` by default. bench/bench_pybullet.py times the bundled QP solvers on this
problem (median and p99 per solve); see bench/README.md for the figures behind the choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from swarm_ros.core.platforms import VehicleParams
from swarm_ros.core.quiet import muted
from .contract import Controller, Observations

SIDES = 8                       # polygon sides for the round limits
VERTICAL_SHARE = 0.5            # vertical acceleration bound as a share of max_accel (the rest horizontal)
SOLVERS = ("qpoases", "daqp", "osqp")


@dataclass(frozen=True)
class MPCParams:
    horizon: int = 20           # steps
    dt: float = 0.1             # s per step
    w_position: float = 4.0     # weight of position error (per m^2)
    w_velocity: float = 1.0     # weight of velocity error (per (m/s)^2)
    w_accel: float = 0.1        # weight of acceleration (per (m/s^2)^2)
    solver: str = "qpoases"


def _solver_options(solver: str) -> dict:
    opts = {"error_on_fail": False, "print_time": False}
    if solver == "qpoases":
        # start with every bound inactive: the default (at the lower bounds) hits a degenerate
        # start on the polygon constraints and fails its factorisation
        opts.update(printLevel="none", initialStatusBounds="inactive")
    elif solver == "osqp":
        opts.update(osqp={"verbose": False, "eps_abs": 1e-5, "eps_rel": 1e-5, "polish": False},
                    warm_start_primal=True, warm_start_dual=True)
    return opts


class PositionMPC:
    """One QP per platform limits; `solve` plans from (p, v) towards a reference trajectory."""

    def __init__(self, vehicle: VehicleParams, params: MPCParams = MPCParams()):
        import casadi as ca
        if params.solver not in SOLVERS:
            raise ValueError(f"unknown QP solver {params.solver!r}; one of {', '.join(SOLVERS)}")
        self.vehicle, self.params = vehicle, params
        h, dt = params.horizon, params.dt
        k = np.arange(1, h + 1)[:, None]
        j = np.arange(h)[None, :]
        self.sp = np.where(j < k, (k - j - 0.5) * dt * dt, 0.0)      # positions from inputs, per axis
        self.sv = np.where(j < k, dt, 0.0)                           # velocities from inputs, per axis
        self.steps = k[:, 0] * dt
        w = params
        hax = 2.0 * (w.w_position * self.sp.T @ self.sp + w.w_velocity * self.sv.T @ self.sv + w.w_accel * np.eye(h))
        self.hessian = np.kron(np.eye(3), hax)
        # limits, each as rows of A U <= ub - (terms of the initial state)
        ang = 2 * np.pi * np.arange(SIDES) / SIDES
        c, s = np.cos(ang), np.sin(ang)
        shrink = math.cos(math.pi / SIDES)          # polygon inside the circle
        zero = np.zeros((h, h))
        eye = np.eye(h)
        vel_rows = [np.hstack([ci * self.sv, si * self.sv, zero]) for ci, si in zip(c, s)]
        acc_rows = [np.hstack([ci * eye, si * eye, zero]) for ci, si in zip(c, s)]
        vz_rows = np.hstack([zero, zero, self.sv])
        self.a = np.vstack(vel_rows + [vz_rows] + acc_rows)
        self._dirs = np.stack([c, s], axis=1)
        self.a_h = math.sqrt(1.0 - VERTICAL_SHARE ** 2) * vehicle.max_accel
        self.a_z = VERTICAL_SHARE * vehicle.max_accel
        self._vel_ub = vehicle.max_speed * shrink
        self._acc_ub = np.full(SIDES * h, self.a_h * shrink)
        # horizontal input bounds well outside the octagon (a box through its vertices would make
        # degenerate vertices); the vertical bound is the real one
        self.lbx = np.concatenate([np.full(2 * h, -2.0 * self.a_h), np.full(h, -self.a_z)])
        self.ubx = -self.lbx
        self._h_dm, self._a_dm = ca.DM(self.hessian), ca.DM(self.a)       # converted once, not per solve
        with muted(1):     # qpOASES prints a copyright notice on stdout when set up
            self.qp = ca.conic("mpc", params.solver, {"h": self._h_dm.sparsity(), "a": self._a_dm.sparsity()},
                               _solver_options(params.solver))
        self._warm: dict | None = None
        self.last_status = ""

    def bounds(self, v0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.params.horizon
        vel = np.repeat(self._vel_ub - self._dirs @ v0[:2], h)
        vz_lo = np.full(h, -self.vehicle.max_descent - v0[2])
        vz_hi = np.full(h, self.vehicle.max_climb - v0[2])
        lba = np.concatenate([np.full(SIDES * h, -np.inf), vz_lo, np.full(SIDES * h, -np.inf)])
        uba = np.concatenate([vel, vz_hi, self._acc_ub])
        return lba, uba

    def solve(self, p0, v0, p_ref: np.ndarray, v_ref: np.ndarray) -> np.ndarray:
        """Planned accelerations (horizon, 3). p_ref, v_ref: (horizon, 3) reference at steps 1..H."""
        p0, v0 = np.asarray(p0, float), np.asarray(v0, float)
        w = self.params
        p_free = p0[None, :] + self.steps[:, None] * v0[None, :]
        g = 2.0 * (w.w_position * self.sp.T @ (p_free - p_ref) + w.w_velocity * self.sv.T @ (v0[None, :] - v_ref))
        g = g.T.reshape(-1)                      # [x inputs, y inputs, z inputs]
        lba, uba = self.bounds(v0)
        args = dict(h=self._h_dm, g=g, a=self._a_dm, lba=lba, uba=uba, lbx=self.lbx, ubx=self.ubx)
        if self._warm is not None:
            args.update(self._warm)
        sol = self.qp(**args)
        self.last_status = self.qp.stats().get("return_status", "")
        if not self.qp.stats().get("success", False):
            # infeasible (e.g. pushed beyond a speed limit, which no admissible acceleration undoes
            # in one step): brake towards the reference velocity at the acceleration limit
            self._warm = None
            a = (v_ref[0] - v0) / w.dt
            a *= min(1.0, self.a_z / max(np.linalg.norm(a), 1e-12))
            return np.tile(a, (w.horizon, 1))
        x = np.asarray(sol["x"]).reshape(3, w.horizon)
        shifted = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        lam_a = np.asarray(sol["lam_a"]).reshape(-1)
        self._warm = {"x0": shifted.reshape(-1), "lam_x0": np.asarray(sol["lam_x"]).reshape(-1), "lam_a0": lam_a}
        return x.T

    def predict(self, p0, v0, accel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (horizon, 3) at steps 1..H under the planned accelerations."""
        p0, v0 = np.asarray(p0, float), np.asarray(v0, float)
        return (p0 + self.steps[:, None] * v0 + self.sp @ accel), (v0 + self.sv @ accel)


class MPCTracking(Controller):
    """Tracking layer: any controller's velocity setpoints become a reference trajectory (hold the
    setpoint over the horizon), the platform's MPC plans within the limits, and the first planned
    acceleration goes out as a velocity setpoint the vehicle's velocity loop turns into that
    acceleration: v + a * response_time (both simulator backends track with that time constant)."""

    def __init__(self, inner: Controller, vehicles: Sequence[VehicleParams], params: MPCParams = MPCParams()):
        super().__init__(params, vehicles, inner.home, inner.group)
        self.inner = inner
        self.mpc = [PositionMPC(v, params) for v in self.vehicles]     # one per drone: own warm start
        self.tau = np.array([v.response_time for v in self.vehicles])

    def step_batch(self, obs: Observations) -> np.ndarray:
        v_sp = self.inner.step_batch(obs)
        out = np.empty_like(v_sp)
        for k, mpc in enumerate(self.mpc):
            steps = mpc.steps[:, None]
            p_ref = obs.position[k] + steps * v_sp[k]
            v_ref = np.broadcast_to(v_sp[k], p_ref.shape)
            acc = mpc.solve(obs.position[k], obs.velocity[k], p_ref, v_ref)
            out[k] = obs.velocity[k] + acc[0] * self.tau[k]
        return out

    def messages(self):
        return self.inner.messages()

    def deliver(self, row: int, data: np.ndarray) -> None:
        self.inner.deliver(row, data)

    def payload(self) -> np.ndarray:
        return self.inner.payload()
