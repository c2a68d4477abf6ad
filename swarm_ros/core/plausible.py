"""Physically plausible ranges of every figure a config file gives, with the reason for each bound.

A value can be a valid number and still make no sense for a drone: a landing speed of 1e-300 m/s
never lands, a radio range of 1e-300 m blinds the safety layer, a mass of 1e300 kg overflows the
physics. One table holds every range, so a limit and its reason are read and changed in one
place; `plausible(key)` is the checker the loaders pass to `Section.get`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .configfile import Invalid, Number, show


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    unit: str
    low: str            # why a value below lo makes no sense
    high: str           # why a value above hi makes no sense


DAY = 86_400.0
RANGES: dict[str, Range] = {
    # vehicle figures (platform files, fleet defaults, types and drones)
    "mass": Range(0.005, 100.0, "kg", "lighter than any drone that can lift a battery",
                  "heavier than any multirotor this stack flies"),
    "body_radius": Range(0.01, 5.0, "m", "smaller than any drone's frame: collisions would go unseen",
                         "wider than any multirotor"),
    "max_speed": Range(0.05, 50.0, "m/s", "the drone could barely move", "faster than any multirotor flies"),
    "max_climb": Range(0.05, 30.0, "m/s", "the drone could barely climb", "faster than any multirotor climbs"),
    "max_descent": Range(0.05, 30.0, "m/s", "the drone would never land", "a descent that fast is a fall"),
    "max_accel": Range(0.1, 100.0, "m/s^2", "the drone could barely change speed",
                       "beyond any multirotor's thrust (about 10 g)"),
    "response_time": Range(0.001, 10.0, "s", "faster than any motor and propeller respond",
                           "the drone would hardly follow its commands"),
    "radio_range": Range(0.5, 100_000.0, "m", "no neighbour would ever be heard: the safety layer would be blind",
                         "beyond any drone radio link"),
    "sensing_range": Range(0.05, 1000.0, "m", "obstacles would be seen only once hit", "beyond any on-board sensor"),
    # mission timing
    "control_rate": Range(1.0, 1000.0, "Hz", "drones would fly a second or more blind between commands",
                          "faster than any flight controller takes setpoints"),
    "sim.physics_rate": Range(1.0, 10_000.0, "Hz", "the physics would step slower than the control loop",
                              "finer steps than any rigid-body model needs"),
    "duration": Range(1.0, DAY, "s", "too short to take off and land", "more than a day: the mission would never end"),
    "phases.takeoff.altitude": Range(0.1, 1000.0, "m", "the drone would stay in ground effect",
                                     "above any altitude a swarm mission flies"),
    "phases.takeoff.duration": Range(0.1, DAY, "s", "no drone takes off that fast", "more than a day"),
    "phases.takeoff.speed": Range(0.05, 20.0, "m/s", "the drone would never reach its altitude",
                                  "a take-off that fast is unsafe near the ground"),
    "phases.land.duration": Range(0.1, DAY, "s", "no drone lands that fast", "more than a day"),
    "phases.land.speed": Range(0.05, 20.0, "m/s", "the drone would never land", "a landing that fast is a crash"),
    # radio model
    "radio.range": Range(0.5, 100_000.0, "m", "no neighbour would ever be heard: the safety layer would be blind",
                         "beyond any drone radio link"),
    "radio.latency": Range(0.0, 10.0, "s", "", "beacons would arrive long after the positions they carry mattered"),
    "radio.neighbour_timeout": Range(0.01, 600.0, "s", "neighbours would be forgotten between two beacons: the "
                                     "safety layer would be blind", "neighbours gone for minutes would still be avoided"),
    "updates.server.range": Range(0.5, 100_000.0, "m", "no drone would ever reach the update server",
                                  "beyond any ground-station radio"),
    # simulation pace
    "sim.speed": Range(0.0, 1000.0, "(times real time)", "", "beyond what any simulator keeps up with"),
}

MAX_START_HEIGHT = 0.5   # m above the geofence floor: drones start on their pads, not in the air


def describe(key: str) -> str:
    r = RANGES[key]
    return f"a number from {r.lo:g} to {r.hi:g} {r.unit}"


class Plausible(Number):
    """A finite number within RANGES[key]; the problem text says which bound and why."""

    def __init__(self, key: str):
        r = RANGES[key]
        super().__init__(r.lo, r.hi)
        self.range, self.allowed = r, describe(key)

    def __call__(self, v):
        try:
            return super().__call__(v)
        except Invalid:
            r = self.range
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise
            text = f"{v:g}" if isinstance(v, float) or abs(v) < 10**15 else show(v)
            if v < r.lo:
                raise Invalid(self.allowed, f"{text} {r.unit} is below {r.lo:g} {r.unit}"
                              + (f", {r.low}" if r.low else "")) from None
            if v > r.hi:
                raise Invalid(self.allowed, f"{text} {r.unit} is above {r.hi:g} {r.unit}, {r.high}") from None
            raise


def plausible(key: str) -> Plausible:
    return Plausible(key)
