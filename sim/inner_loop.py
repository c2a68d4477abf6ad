"""Batched flight controller of the rigid-body backend: velocity setpoint -> rotor speeds.

The cascade a multirotor autopilot runs, for all N drones at once with numpy (no per-drone
Python): velocity PI -> desired acceleration (limited to the profile's max_accel, which bounds
the tilt) -> desired attitude (yaw held at 0) and collective thrust -> geometric attitude error
(Lee, Leok and McClamroch 2010) -> body-rate setpoint -> rate P with gyroscopic feed-forward
-> torques -> X-layout mixer -> per-rotor thrusts clipped to [0, kf w_max^2].

The velocity loop's time constant is the profile's `response_time`, so the rigid body tracks a
setpoint about as the point-mass model assumes; the attitude and rate gains are per platform (airframes.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

G = 9.81

INTEGRAL_SHARE = 0.3    # the velocity integral may supply at most this share of g
INTEGRATE_WITHIN = 0.2  # m/s: the velocity error below which the integral runs


@dataclass
class FlightParams:
    """Per-drone arrays (leading axis N) the cascade needs."""
    mass: np.ndarray          # (N,)
    inertia: np.ndarray       # (N, 3) diagonal
    tau: np.ndarray           # (N,) velocity-loop time constant
    max_accel: np.ndarray     # (N,)
    k_att: np.ndarray         # (N,)
    k_rate: np.ndarray        # (N,)
    max_rate: np.ndarray      # (N,)
    alloc_inv: np.ndarray     # (N, 4, 4) [T, tx, ty, tz] -> rotor thrusts
    alloc: np.ndarray         # (N, 4, 4) rotor thrusts -> [T, tx, ty, tz]
    max_rotor_thrust: np.ndarray   # (N,)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(N, 4) quaternions (x, y, z, w) -> (N, 3, 3) body-to-world rotation matrices."""
    x, y, z, w = q.T
    xx, yy, zz, xy, xz, yz, wx, wy, wz = x * x, y * y, z * z, x * y, x * z, y * z, w * x, w * y, w * z
    r = np.empty((len(q), 3, 3))
    r[:, 0, 0] = 1 - 2 * (yy + zz)
    r[:, 0, 1] = 2 * (xy - wz)
    r[:, 0, 2] = 2 * (xz + wy)
    r[:, 1, 0] = 2 * (xy + wz)
    r[:, 1, 1] = 1 - 2 * (xx + zz)
    r[:, 1, 2] = 2 * (yz - wx)
    r[:, 2, 0] = 2 * (xz - wy)
    r[:, 2, 1] = 2 * (yz + wx)
    r[:, 2, 2] = 1 - 2 * (xx + yy)
    return r


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (b may be one (3,) row); np.cross costs ~10x more
    per call in argument handling, which matters at 240 calls per simulated second."""
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    b0, b1, b2 = (b[0], b[1], b[2]) if b.ndim == 1 else (b[:, 0], b[:, 1], b[:, 2])
    out = np.empty((len(a), 3))
    out[:, 0] = a1 * b2 - a2 * b1
    out[:, 1] = a2 * b0 - a0 * b2
    out[:, 2] = a0 * b1 - a1 * b0
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


class InnerLoop:
    """Holds the velocity integral of every drone; `thrusts` is called once per physics step."""

    def __init__(self, params: FlightParams):
        self.p = params
        n = len(params.mass)
        self.integral = np.zeros((n, 3))
        self.integral_limit = INTEGRAL_SHARE * G * 4.0 * params.tau[:, None] ** 2    # k_i = 1 / (4 tau^2)

    def desired_accel(self, v: np.ndarray, v_sp: np.ndarray, dt: float) -> np.ndarray:
        p = self.p
        err = v_sp - v
        a = err / p.tau[:, None] + self.integral / (4.0 * p.tau[:, None] ** 2)
        norm = np.linalg.norm(a, axis=1)
        # integrate only near the setpoint and while the acceleration is not limited (anti-windup):
        # the integral is for steady disturbances (drag, ground effect, downwash), not transients
        free = (norm < p.max_accel) & (np.abs(err).max(axis=1) < INTEGRATE_WITHIN)
        self.integral[free] = np.clip(self.integral[free] + err[free] * dt, -self.integral_limit[free],
                                      self.integral_limit[free])
        return a * np.minimum(1.0, p.max_accel / np.maximum(norm, 1e-12))[:, None]

    def thrusts(self, rot: np.ndarray, v: np.ndarray, omega_body: np.ndarray, v_sp: np.ndarray, dt: float,
                idle: np.ndarray) -> np.ndarray:
        """(N, 4) rotor thrusts. rot: (N, 3, 3) body-to-world; omega_body: (N, 3) body rates;
        idle: drones resting on the ground with nothing to do (rotors stopped, integral reset)."""
        p = self.p
        acc = self.desired_accel(v, v_sp, dt)
        force = p.mass[:, None] * (acc + np.array([0.0, 0.0, G]))
        b3 = _unit(force)
        b2 = _unit(cross(b3, np.array([1.0, 0.0, 0.0])))
        b1 = cross(b2, b3)
        rot_d = np.stack([b1, b2, b3], axis=2)
        collective = np.einsum("ni,ni->n", force, rot[:, :, 2])
        m = np.einsum("nji,njk->nik", rot_d, rot) - np.einsum("nji,njk->nik", rot, rot_d)
        e_rot = 0.5 * np.stack([m[:, 2, 1], m[:, 0, 2], m[:, 1, 0]], axis=1)
        rate_sp = np.clip(-p.k_att[:, None] * e_rot, -p.max_rate[:, None], p.max_rate[:, None])
        j_omega = p.inertia * omega_body
        torque = p.inertia * (p.k_rate[:, None] * (rate_sp - omega_body)) + cross(omega_body, j_omega)
        wrench = np.concatenate([np.maximum(collective, 0.0)[:, None], torque], axis=1)
        f = np.einsum("nij,nj->ni", p.alloc_inv, wrench)
        np.clip(f, 0.0, p.max_rotor_thrust[:, None], out=f)
        f[idle] = 0.0
        self.integral[idle] = 0.0
        return f
