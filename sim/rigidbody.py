"""PyBullet rigid-body backend: the same interface as the point-mass model (velocity commands in,
positions and velocities out), with rotor forces, drag, ground effect and downwash.

One PyBullet client (p.DIRECT, no GUI) per swarm. Per physics step: read every drone's state,
run the batched flight controller (inner_loop.py) and aerodynamics (aero.py) with numpy, apply
one net force and one net torque per drone (the sum of its four rotor forces and their moments,
computed per rotor), step. Python calls into PyBullet dominate the cost: four per drone-step.
The world's obstacles, and the ground, are static collision bodies; obstacles that appear during
a mission are added when their time comes. Bodies never sleep (a hovering drone would be skipped).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from swarm_ros.core.quiet import muted

from .aero import downwash, ground_effect_gain, rotor_drag
from .airframes import FOOT, urdf
from .inner_loop import FlightParams, InnerLoop, quat_to_matrix
from .pointmass import clip_velocity
from .rigidbody_spec import Aero
from .world import Box, World

IDLE_HEIGHT = 0.02     # m: a drone this low, told not to climb or move, stops its rotors


def import_pybullet():
    """pybullet, without the build-time banner its import writes to stderr."""
    if "pybullet" not in sys.modules:
        with muted(2):
            import pybullet  # noqa: F401
    return sys.modules["pybullet"]


class RigidBodySwarm:
    def __init__(self, drones: Sequence, world: World | None = None, aero: Aero = Aero()):
        """drones: objects with .platform (a name), .airframe (core.vehicle.Airframe), .vehicle
        (VehicleParams) and .start."""
        self.p = p = import_pybullet()
        self.client = p.connect(p.DIRECT)
        self.n = len(drones)
        self.aero = aero
        vehicles = [d.vehicle for d in drones]
        frames = [d.airframe for d in drones]
        col = lambda name: np.array([getattr(v, name) for v in vehicles], float)  # noqa: E731
        self.max_speed, self.max_climb, self.max_descent = col("max_speed"), col("max_climb"), col("max_descent")
        mass = col("mass")
        alloc = np.array([f.allocation() for f in frames])
        self.flight = FlightParams(
            mass=mass, inertia=np.array([f.inertia_at(m) for f, m in zip(frames, mass)]), tau=col("response_time"),
            max_accel=col("max_accel"), k_att=np.array([f.k_att for f in frames]),
            k_rate=np.array([f.k_rate for f in frames]), max_rate=np.array([f.max_rate for f in frames]),
            alloc_inv=np.linalg.inv(alloc), alloc=alloc,
            max_rotor_thrust=np.array([f.kf * f.max_rotor_speed ** 2 for f in frames]))
        self.loop = InnerLoop(self.flight)
        self.kf = np.array([f.kf for f in frames])
        self.drag_coeff = np.array([(f.drag_xy, f.drag_xy, f.drag_z) for f in frames])
        self.prop_radius = np.array([f.prop_radius for f in frames])
        # rotor hubs in the body frame (N, 4, 3): on the arms, at the top of the frame
        self.rotor_body = np.array([np.column_stack([f.rotor_xy(), np.full(4, f.height)]) for f in frames])
        frame_radius = np.array([f.arm + f.prop_radius for f in frames])
        self.wake_radius = 0.5 * frame_radius
        self.planform = np.pi * frame_radius ** 2

        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        self._dt = None
        ground = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=self.client)
        p.createMultiBody(0, ground, physicsClientId=self.client)
        self.bodies = self._load_drones(drones, frames, mass)
        self.world = world
        self._pending = sorted((o.appear_at or 0.0, k) for k, o in enumerate(world.ordered)) if world else []
        self.time = 0.0
        self._add_due_obstacles()
        self.position = np.array([d.start for d in drones], float).reshape(self.n, 3)
        self.velocity = np.zeros((self.n, 3))
        self.rotation = np.tile(np.eye(3), (self.n, 1, 1))
        self.orientation = np.tile([0.0, 0.0, 0.0, 1.0], (self.n, 1))   # quaternions (x, y, z, w)
        self.omega = np.zeros((self.n, 3))        # world-frame body rates
        self.rotor_thrust = np.zeros((self.n, 4))
        self._cmd = np.zeros((self.n, 3))
        self._tmp = np.zeros(self.n)

    # --- set-up -------------------------------------------------------------------------------
    def _load_drones(self, drones, frames, mass) -> list[int]:
        p, bodies, files = self.p, [], {}
        with tempfile.TemporaryDirectory(prefix="swarm_urdf_") as tmp:
            for d, frame, m in zip(drones, frames, mass):
                key = (d.platform, float(m), d.vehicle.body_radius)
                if key not in files:
                    files[key] = Path(tmp, f"drone{len(files)}.urdf")
                    files[key].write_text(urdf(d.platform.replace(".", "_"), frame, m, d.vehicle.body_radius))
                body = p.loadURDF(str(files[key]), basePosition=[*d.start[:2], d.start[2] + FOOT],
                                  flags=p.URDF_USE_INERTIA_FROM_FILE, physicsClientId=self.client)
                p.changeDynamics(body, -1, linearDamping=0.0, angularDamping=0.0,
                                 activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=self.client)
                bodies.append(body)
        return bodies

    def _add_due_obstacles(self) -> None:
        p, c = self.p, self.client
        while self._pending and self._pending[0][0] <= self.time + 1e-9:
            _, k = self._pending.pop(0)
            o = self.world.ordered[k]
            if isinstance(o, Box):
                shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=[s / 2 for s in o.size], physicsClientId=c)
                center = list(o.center)
            else:
                h = o.z_max - o.z_min
                shape = p.createCollisionShape(p.GEOM_CYLINDER, radius=o.radius, height=h, physicsClientId=c)
                center = [o.center[0], o.center[1], o.z_min + h / 2]
            p.createMultiBody(0, shape, basePosition=center, physicsClientId=c)

    def close(self) -> None:
        if self.client is not None and self.p.isConnected(self.client):
            self.p.disconnect(self.client)
        self.client = None

    def __del__(self):
        try:
            self.close()
        except Exception:   # interpreter shutdown: pybullet may be gone already
            pass

    def reset(self, positions: np.ndarray) -> None:
        """Every drone at rest, level, at `positions` (N, 3); controller state cleared."""
        p, c = self.p, self.client
        for k, b in enumerate(self.bodies):
            x, y, z = (float(v) for v in positions[k])
            p.resetBasePositionAndOrientation(b, [x, y, z + FOOT], [0, 0, 0, 1], physicsClientId=c)
            p.resetBaseVelocity(b, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        self.loop.integral[:] = 0.0
        self.read_state()

    # --- stepping -----------------------------------------------------------------------------
    def clip_command(self, v_cmd: np.ndarray) -> np.ndarray:
        return clip_velocity(v_cmd, self.max_speed, self.max_climb, self.max_descent, self._cmd, self._tmp)

    def read_state(self) -> None:
        p, c = self.p, self.client
        quat = self.orientation
        for k, b in enumerate(self.bodies):
            self.position[k], quat[k] = p.getBasePositionAndOrientation(b, physicsClientId=c)
            self.velocity[k], self.omega[k] = p.getBaseVelocity(b, physicsClientId=c)
        # the ground is solid: a touchdown's contact penetration (a few mm) is a solver artefact
        np.maximum(self.position[:, 2], 0.0, out=self.position[:, 2])
        self.rotation = quat_to_matrix(quat)

    def wrench(self, v_sp: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """World-frame net force and torque (N, 3) on each drone for this physics step."""
        rot = self.rotation
        omega_body = np.einsum("nji,nj->ni", rot, self.omega)
        idle = (self.position[:, 2] < IDLE_HEIGHT) & (v_sp[:, 2] <= 0.0) & (np.abs(v_sp[:, :2]).max(axis=1) < 1e-6)
        f = self.loop.thrusts(rot, self.velocity, omega_body, v_sp, dt, idle)
        self.rotor_thrust = f
        if self.aero.ground_effect:
            hub_z = self.position[:, 2, None] + np.einsum("nj,nkj->nk", rot[:, 2, :], self.rotor_body)
            f = f * ground_effect_gain(hub_z, self.prop_radius)
        body = np.einsum("nij,nj->ni", self.flight.alloc, f)      # [T, tx, ty, tz] from the rotors
        force = rot[:, :, 2] * body[:, 0, None]
        if self.aero.drag:
            speed_sum = np.sqrt(self.rotor_thrust / self.kf[:, None]).sum(axis=1)
            force += rotor_drag(rot, self.velocity, speed_sum, self.drag_coeff)
        if self.aero.downwash:
            force[:, 2] -= downwash(self.position, body[:, 0], self.wake_radius, self.planform)
        torque = np.einsum("nij,nj->ni", rot, body[:, 1:])
        return force, torque

    def step(self, v_cmd: np.ndarray, dt: float, substeps: int = 1) -> None:
        """Advance `substeps` physics steps of `dt` tracking the velocity command."""
        p, c = self.p, self.client
        if dt != self._dt:
            p.setTimeStep(dt, physicsClientId=c)
            self._dt = dt
        v_sp = self.clip_command(v_cmd).copy()
        frame = p.WORLD_FRAME
        for _ in range(substeps):
            force, torque = self.wrench(v_sp, dt)
            for k, b in enumerate(self.bodies):
                p.applyExternalForce(b, -1, force[k].tolist(), self.position[k].tolist(), frame, physicsClientId=c)
                p.applyExternalTorque(b, -1, torque[k].tolist(), frame, physicsClientId=c)
            p.stepSimulation(physicsClientId=c)
            self.time += dt
            if self._pending:
                self._add_due_obstacles()
            self.read_state()
