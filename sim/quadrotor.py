"""A quadrotor rigid body with first-order motor lag, in plain floats (one vehicle, no numpy):
what the Crazyflie firmware's controllers fly in the simulated Crazyflie (vehicles/cf_firmware.py).

Newton-Euler in the world frame (ENU), body frame x forward, y left, z up. Rotors in X layout,
numbered as the Crazyflie firmware numbers them: M1 front right, M2 back right, M3 back left,
M4 front left; M2 and M4 push the body's yaw positive (the firmware's force-torque mixing).
Each rotor's thrust follows its command with a first-order lag. The ground is the plane z = 0:
the body rests on it (it may tilt there under rotor torques) until the rotors lift it, and
touches down level, keeping its heading. Semi-implicit Euler;
call it at 1 kHz or faster (the firmware's stabilizer rate).

Crazyflie 2.1 figures (CF2 platform of firmware 2026.08, src/platform/interface/platform_defaults_cf2.h,
Crazyflie 2.1+ propellers, battery-compensated thrust):
  arm          0.046 m centre to motor (ARM_LENGTH)
  max thrust   0.12 N per motor (THRUST_MAX); the firmware's motor values are proportional to thrust
  torque       0.0069929 N m of reaction torque per N of thrust (THRUST2TORQUE)
  inertia      Ixx 1.395e-5, Iyy 1.436e-5, Izz 2.173e-5 kg m^2 at 27 g (J. Foerster, ETH Zurich 2015;
               sim/airframes.py), scaled with the mass; the mass is the vehicle profile's.
  motor lag    20 ms time constant: a modelling choice of the order identified for small brushed
               motors; the firmware's PID and Mellinger controllers need one of at least 10 ms
               (with instant motors they diverge, ../shared/cffirmware/README.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

GRAVITY = 9.81


@dataclass(frozen=True)
class QuadrotorParams:
    mass: float                 # kg
    inertia: tuple              # kg m^2 (Ixx, Iyy, Izz)
    arm: float = 0.046          # m, centre to rotor axis
    max_thrust: float = 0.12    # N per rotor
    thrust_to_torque: float = 0.0069928948992470565   # m
    motor_tau: float = 0.020    # s


def crazyflie_params(mass: float) -> QuadrotorParams:
    """The Crazyflie 2.1's inertia (its platform file's airframe) scaled to `mass`."""
    from swarm_ros.core.platforms import find_platform
    frame = find_platform("crazyflie_2.1").airframe
    return QuadrotorParams(mass=mass, inertia=tuple(float(i) for i in frame.inertia_at(mass)))


class Quadrotor:
    """State: position p, velocity v (world), attitude quaternion q = (w, x, y, z) body to world,
    body rates w (rad/s), rotor thrusts f (N)."""

    def __init__(self, params: QuadrotorParams, position):
        self.params = params
        self.p = [float(x) for x in position]
        self.v = [0.0, 0.0, 0.0]
        self.q = [1.0, 0.0, 0.0, 0.0]
        self.w = [0.0, 0.0, 0.0]
        self.f = [0.0, 0.0, 0.0, 0.0]
        self.acc = [0.0, 0.0, 0.0]          # world acceleration of the last step (m/s^2)
        self.ground = self.p[2] <= 0.0

    def step(self, command, dt: float) -> None:
        """Advance dt s with rotor thrust commands `command` (4 floats, N, clipped to [0, max])."""
        pr = self.params
        a = 1.0 - math.exp(-dt / pr.motor_tau)
        f = self.f
        for i in range(4):
            c = min(max(command[i], 0.0), pr.max_thrust)
            f[i] += (c - f[i]) * a
        arm = pr.arm * 0.7071067811865476
        thrust = f[0] + f[1] + f[2] + f[3]
        tx = arm * (-f[0] - f[1] + f[2] + f[3])
        ty = arm * (-f[0] + f[1] + f[2] - f[3])
        tz = pr.thrust_to_torque * (-f[0] + f[1] - f[2] + f[3])

        qw, qx, qy, qz = self.q
        r02 = 2.0 * (qx * qz + qw * qy)
        r12 = 2.0 * (qy * qz - qw * qx)
        r22 = 1.0 - 2.0 * (qx * qx + qy * qy)
        s = thrust / pr.mass
        acc = [r02 * s, r12 * s, r22 * s - GRAVITY]
        p, v = self.p, self.v
        if self.ground and acc[2] <= 0.0:          # resting: the ground carries the weight (and holds it in place)
            self.acc = [0.0, 0.0, 0.0]
            if thrust == 0.0:
                return
        else:                                      # it may still tilt on its feet before lifting off
            self.ground = False
            for i in range(3):
                v[i] += acc[i] * dt
                p[i] += v[i] * dt
            self.acc = acc

        wx, wy, wz = self.w
        jx, jy, jz = pr.inertia
        wx += (tx - (jz - jy) * wy * wz) / jx * dt
        wy += (ty - (jx - jz) * wz * wx) / jy * dt
        wz += (tz - (jy - jx) * wx * wy) / jz * dt
        self.w = [wx, wy, wz]
        # q <- q (x) exp(w dt / 2): body rates rotate the body frame
        hx, hy, hz = 0.5 * wx * dt, 0.5 * wy * dt, 0.5 * wz * dt
        nw = qw - qx * hx - qy * hy - qz * hz
        nx = qx + qw * hx + qy * hz - qz * hy
        ny = qy + qw * hy + qz * hx - qx * hz
        nz = qz + qw * hz + qx * hy - qy * hx
        n = 1.0 / math.sqrt(nw * nw + nx * nx + ny * ny + nz * nz)
        self.q = [nw * n, nx * n, ny * n, nz * n]

        if p[2] <= 0.0 and not self.ground:        # touch-down: stop, level, keep the heading
            p[2] = 0.0
            self.v = [0.0, 0.0, 0.0]
            self.w = [0.0, 0.0, 0.0]
            yaw = self.yaw()
            self.q = [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
            self.ground = True

    def yaw(self) -> float:
        qw, qx, qy, qz = self.q
        return math.atan2(2.0 * (qw * qz + qx * qy), 1.0 - 2.0 * (qy * qy + qz * qz))

    def rpy(self) -> tuple[float, float, float]:
        """Roll, pitch, yaw (rad), ZYX convention."""
        qw, qx, qy, qz = self.q
        roll = math.atan2(2.0 * (qw * qx + qy * qz), 1.0 - 2.0 * (qx * qx + qy * qy))
        pitch = math.asin(max(-1.0, min(1.0, 2.0 * (qw * qy - qz * qx))))
        return roll, pitch, self.yaw()

    def specific_force_body(self) -> tuple[float, float, float]:
        """What an accelerometer reads (m/s^2, body frame): acceleration minus gravity."""
        qw, qx, qy, qz = self.q
        ax, ay, az = self.acc[0], self.acc[1], self.acc[2] + GRAVITY
        # R^T a
        bx = (1 - 2 * (qy * qy + qz * qz)) * ax + 2 * (qx * qy + qw * qz) * ay + 2 * (qx * qz - qw * qy) * az
        by = 2 * (qx * qy - qw * qz) * ax + (1 - 2 * (qx * qx + qz * qz)) * ay + 2 * (qy * qz + qw * qx) * az
        bz = 2 * (qx * qz + qw * qy) * ax + 2 * (qy * qz - qw * qx) * ay + (1 - 2 * (qx * qx + qy * qy)) * az
        return bx, by, bz
