"""Vehicle profiles: the one place for vehicle figures (mass, limits, radio, sensing).

Figures come from the makers' specifications and firmware defaults; where a figure is a
modelling choice (response time, sensing range of an assumed payload) it says so. Fleet files
override any of them per fleet, per type or per drone (drone > type > fleet defaults > profile).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .core.configfile import Number


@dataclass(frozen=True)
class VehicleParams:
    """Limits and figures of one vehicle, SI units."""
    mass: float              # kg, take-off mass
    body_radius: float       # m, radius of the sphere that encloses frame and propellers
    max_speed: float         # m/s, horizontal speed limit
    max_climb: float         # m/s, upward speed limit
    max_descent: float       # m/s, downward speed limit
    max_accel: float         # m/s^2, acceleration limit (norm)
    response_time: float     # s, time constant of the first-order velocity response (model)
    radio_range: float       # m, range of the swarm radio link
    sensing_range: float     # m, range of the obstacle sensor

    def with_overrides(self, **values: float) -> "VehicleParams":
        return replace(self, **values)


# Checker per field, used by fleet files; all figures are positive.
FIELD_CHECKS = {f.name: Number(0, lo_open=True) for f in fields(VehicleParams)}

PLATFORMS: dict[str, VehicleParams] = {
    # Bitcraze Crazyflie 2.1: 27 g take-off mass, 92 mm motor-to-motor diagonal with 45 mm
    # propellers (motor at 46 mm + 23 mm blade = 69 mm). Velocity limits are the firmware's PID
    # position-controller defaults (1 m/s in xy and z); acceleration follows from its 20 degree
    # attitude limit (g tan 20deg = 3.57 m/s^2). Radio range >1 km line of sight (Bitcraze, with
    # Crazyradio PA). Sensing: Multi-ranger deck (VL53L1x, up to 4 m).
    "crazyflie_2.1": VehicleParams(
        mass=0.027, body_radius=0.07, max_speed=1.0, max_climb=1.0, max_descent=1.0,
        max_accel=9.81 * math.tan(math.radians(20.0)), response_time=0.25,
        radio_range=1000.0, sensing_range=4.0),
    # Holybro X500 V2 on PX4: 500 mm wheelbase with 10 inch propellers (250 mm + 127 mm),
    # about 1.5 kg with a 4S battery. Limits are PX4 multicopter defaults: MPC_XY_VEL_MAX 12 m/s,
    # MPC_Z_VEL_MAX_UP 3 m/s, MPC_Z_VEL_MAX_DN 1.5 m/s, MPC_ACC_HOR_MAX 5 m/s^2. Radio: SiK
    # telemetry radio, 300 m and more. Sensing range assumes a depth camera (modelling choice).
    "px4_x500": VehicleParams(
        mass=1.5, body_radius=0.38, max_speed=12.0, max_climb=3.0, max_descent=1.5,
        max_accel=5.0, response_time=0.5, radio_range=300.0, sensing_range=10.0),
}
