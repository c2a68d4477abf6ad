"""Benchmark peer: a per-drone Python PID + PyBullet loop, structured like gym-pybullet-drones.

Written for bench_pybullet.py (not that project's code): each drone is controlled by its own
Python call at the control rate (position PID -> thrust and desired attitude -> attitude and rate
P -> rotor thrusts, small numpy arrays per drone); at every physics step each rotor's force is
applied with its own call at the rotor's position, plus one yaw torque; with aerodynamics on,
ground effect and drag are computed per drone and downwash by a Python loop over all drone
pairs. Same URDF, airframe figures and aerodynamic models as sim.rigidbody, so the two loops
simulate the same vehicles and differ in how the work is organised.
"""
from __future__ import annotations

import numpy as np

from sim.aero import DOWNWASH_DEPTH, DOWNWASH_REACH, DRAG_CD, SPREAD
from sim.airframes import FOOT, urdf
from sim.rigidbody import import_pybullet
from swarm_ros.core.platforms import find_platform

G = 9.81


class PerDronePIDLoop:
    def __init__(self, starts: np.ndarray, platform: str, aero: bool):
        import tempfile
        from pathlib import Path
        self.p = p = import_pybullet()
        spec = find_platform(platform)
        self.frame, self.vehicle = spec.airframe, spec.vehicle
        self.aero = aero
        self.c = p.connect(p.DIRECT)
        p.setGravity(0, 0, -G, physicsClientId=self.c)
        p.createMultiBody(0, p.createCollisionShape(p.GEOM_PLANE, physicsClientId=self.c), physicsClientId=self.c)
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp, "d.urdf")
            f.write_text(urdf("peer", self.frame, self.vehicle.mass, self.vehicle.body_radius))
            self.bodies = []
            for s in starts:
                b = p.loadURDF(str(f), basePosition=[s[0], s[1], s[2] + FOOT], flags=p.URDF_USE_INERTIA_FROM_FILE,
                               physicsClientId=self.c)
                p.changeDynamics(b, -1, linearDamping=0.0, angularDamping=0.0,
                                 activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=self.c)
                self.bodies.append(b)
        fr = self.frame
        self.mass, self.inertia = self.vehicle.mass, fr.inertia_at(self.vehicle.mass)
        self.alloc_inv = np.linalg.inv(fr.allocation())
        self.f_max = fr.kf * fr.max_rotor_speed ** 2
        self.rotors = np.column_stack([fr.rotor_xy(), np.full(4, fr.height)])
        self.integral = [np.zeros(3) for _ in self.bodies]
        self.thrust = [np.full(4, self.mass * G / 4) for _ in self.bodies]
        s0 = 0.5 * (fr.arm + fr.prop_radius)
        self.wake_s0, self.area = s0, np.pi * (fr.arm + fr.prop_radius) ** 2

    def state(self, b):
        pos, quat = self.p.getBasePositionAndOrientation(b, physicsClientId=self.c)
        vel, omega = self.p.getBaseVelocity(b, physicsClientId=self.c)
        rot = np.array(self.p.getMatrixFromQuaternion(quat)).reshape(3, 3)
        return np.array(pos), rot, np.array(vel), np.array(omega)

    def control(self, k, pos, rot, vel, omega, target, dt):
        """One drone's PID: position -> force -> attitude -> rates -> torques -> rotor thrusts."""
        fr, tau = self.frame, self.vehicle.response_time
        err = target - pos
        self.integral[k] = np.clip(self.integral[k] + err * dt, -1.0, 1.0)
        acc = (1.5 * err - vel) / tau + 0.5 * self.integral[k]
        norm = np.linalg.norm(acc)
        if norm > self.vehicle.max_accel:
            acc *= self.vehicle.max_accel / norm
        force = self.mass * (acc + np.array([0.0, 0.0, G]))
        b3 = force / np.linalg.norm(force)
        b2 = np.cross(b3, [1.0, 0.0, 0.0])
        b2 /= np.linalg.norm(b2)
        rot_d = np.column_stack([np.cross(b2, b3), b2, b3])
        m = rot_d.T @ rot - rot.T @ rot_d
        e_rot = 0.5 * np.array([m[2, 1], m[0, 2], m[1, 0]])
        w_b = rot.T @ omega
        rate_sp = np.clip(-fr.k_att * e_rot, -fr.max_rate, fr.max_rate)
        torque = self.inertia * fr.k_rate * (rate_sp - w_b) + np.cross(w_b, self.inertia * w_b)
        f = self.alloc_inv @ np.array([max(force @ rot[:, 2], 0.0), *torque])
        return np.clip(f, 0.0, self.f_max)

    def run(self, targets: np.ndarray, ticks: int, substeps: int, dt: float) -> None:
        p, c, fr = self.p, self.c, self.frame
        p.setTimeStep(dt, physicsClientId=c)
        for _ in range(ticks):
            for s in range(substeps):
                states = [self.state(b) for b in self.bodies]
                if s == 0:
                    for k, (pos, rot, vel, omega) in enumerate(states):
                        self.thrust[k] = self.control(k, pos, rot, vel, omega, targets[k], dt * substeps)
                down = self._downwash(states) if self.aero else None
                for k, b in enumerate(self.bodies):
                    pos, rot, vel, _ = states[k]
                    f = self.thrust[k]
                    if self.aero:     # ground effect per rotor (Cheeseman-Bennett), as sim.aero
                        hub_z = pos[2] + rot[2] @ self.rotors.T
                        z = np.maximum(hub_z, 0.5 * fr.prop_radius)
                        f = f / (1.0 - (fr.prop_radius / (4.0 * z)) ** 2)
                    for i in range(4):
                        hub = pos + rot @ self.rotors[i]
                        p.applyExternalForce(b, -1, (rot[:, 2] * f[i]).tolist(), hub.tolist(), p.WORLD_FRAME,
                                             physicsClientId=c)
                    yaw = float(fr.yaw_sign @ f) * fr.km / fr.kf
                    extra = np.zeros(3)
                    if self.aero:
                        speeds = np.sqrt(self.thrust[k] / fr.kf).sum()
                        v_b = rot.T @ vel
                        extra = rot @ (-np.array([fr.drag_xy, fr.drag_xy, fr.drag_z]) * speeds * v_b)
                        extra[2] -= down[k]
                        p.applyExternalForce(b, -1, extra.tolist(), pos.tolist(), p.WORLD_FRAME, physicsClientId=c)
                    p.applyExternalTorque(b, -1, (rot[:, 2] * yaw).tolist(), p.WORLD_FRAME, physicsClientId=c)
                p.stepSimulation(physicsClientId=c)

    def _downwash(self, states) -> list[float]:
        """Downward force on each drone from the wakes above it: a Python loop over pairs."""
        out = [0.0] * len(states)
        for i, (pi, _, _, _) in enumerate(states):
            for j, (pj, _, _, _) in enumerate(states):
                dz = pj[2] - pi[2]
                if i == j or not 1e-3 < dz < DOWNWASH_DEPTH:
                    continue
                d2 = (pi[0] - pj[0]) ** 2 + (pi[1] - pj[1]) ** 2
                if d2 > DOWNWASH_REACH ** 2:
                    continue
                s2 = (self.wake_s0 + SPREAD * dz) ** 2
                out[i] += DRAG_CD * self.area * float(self.thrust[j].sum()) * np.exp(-d2 / s2) / (2 * np.pi * s2)
        return out

    def position(self) -> np.ndarray:
        return np.array([self.p.getBasePositionAndOrientation(b, physicsClientId=self.c)[0] for b in self.bodies])

    def close(self) -> None:
        self.p.disconnect(self.c)
