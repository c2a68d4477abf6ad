"""Reactive safety layer shared by controllers: keep clear of neighbours, obstacles and geofence.

Works only from a drone's own observations: neighbours' last beacons (extrapolated by their
velocity for at most `max_extrapolation` s), its own obstacle sensing and the geofence.
Inside a margin it removes the part of the desired velocity that closes the gap, pushes away
in proportion to how deep the margin is entered, and adds a sidestep to the right of the
push (a right-hand rule) so that head-on encounters and flat obstacle faces do not deadlock,
and outwards when the contact is above or below.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm_ros.core.configfile import Number, Section
from swarm_ros.core.geometry import norm_rows
from swarm_ros.core.sensing import Sensing
from . import safety_jit
from .contract import Observations, clip_norm

@dataclass(frozen=True)
class SafetyParams:
    separation_margin: float = 0.6   # m of clearance (beyond both body radii) kept to neighbours
    obstacle_margin: float = 0.6     # m of clearance kept to obstacles
    fence_margin: float = 0.5        # m kept inside the geofence walls (floor excluded)
    push_speed: float = 1.0          # m/s of push at zero clearance
    sidestep: float = 0.5            # sidestep speed as a fraction of the push
    max_extrapolation: float = 0.5   # s a neighbour's beacon is extrapolated at most

    @classmethod
    def read(cls, sec: Section, defaults: "SafetyParams | None" = None) -> "SafetyParams":
        pos, nonneg = Number(0, lo_open=True), Number(0)
        d = defaults or cls()
        return cls(sec.get("separation_margin", pos, d.separation_margin),
                   sec.get("obstacle_margin", pos, d.obstacle_margin),
                   sec.get("fence_margin", pos, d.fence_margin),
                   sec.get("push_speed", pos, d.push_speed),
                   sec.get("sidestep", nonneg, d.sidestep),
                   sec.get("max_extrapolation", nonneg, d.max_extrapolation))


def _corrections(v: np.ndarray, receiver, away, depth, sidestep, p: SafetyParams) -> np.ndarray:
    """Velocity corrections (N, 3) from contacts: unit `away` (E, 3), margin depth 0..1 (E,)."""
    closing = np.einsum("ij,ij->i", v[receiver], away)
    remove = np.where(closing < 0, -closing, 0.0) * np.minimum(1.0, 2.0 * depth)   # stop closing in
    push = p.push_speed * depth
    # Sidestep: to the right of a level contact (away x up), and outwards for a contact above
    # or below (a drone stacked over another slides off instead of pushing straight up).
    horizontal = norm_rows(away[:, :2])
    step = sidestep * push / np.maximum(horizontal, 1e-9)
    side = np.zeros_like(away)
    side[:, 0] = (away[:, 1] + np.abs(away[:, 2]) * away[:, 0]) * step
    side[:, 1] = (-away[:, 0] + np.abs(away[:, 2]) * away[:, 1]) * step
    corr = away * (remove + push)[:, None] + side
    out = np.empty_like(v)
    for k in range(3):
        out[:, k] = np.bincount(receiver, weights=corr[:, k], minlength=len(v))
    return out


def neighbour_contacts(obs: Observations, radius: np.ndarray, max_extrapolation: float):
    """(receiver, unit vector away from neighbour, clearance) for every received beacon."""
    nb = obs.neighbours
    rcv = nb.receiver
    age = np.clip(obs.t - nb.stamp, 0.0, max_extrapolation)
    other = nb.position + nb.velocity * age[:, None]
    diff = obs.position[rcv] - other
    dist = norm_rows(diff)
    away = np.divide(diff, dist[:, None], out=np.zeros_like(diff), where=dist[:, None] > 1e-9)
    # Coincident drones: separate along a horizontal direction fixed by the pair of fleet ids,
    # in opposite senses for the two (each drone knows both ids: its own and the sender's).
    same = dist <= 1e-9
    if same.any():
        me, other = obs.ids[rcv[same]], nb.sender[same]
        ang = (np.minimum(me, other) * 7919 + np.maximum(me, other)) * 2.399963
        sense = np.where(me < other, 1.0, -1.0)
        away[same] = np.stack([np.cos(ang) * sense, np.sin(ang) * sense, np.zeros(same.sum())], axis=1)
    clearance = dist - radius[rcv] - nb.radius
    return rcv, away, clearance


WALLS = [0, 1, 2, 3, 5]   # geofence walls kept clear: all but the floor (take-off and landing)


def safe_velocity(obs: Observations, v_des: np.ndarray, radius: np.ndarray, max_speed: np.ndarray,
                  p: SafetyParams) -> np.ndarray:
    """Correct desired velocities (N, 3) so drones keep their margins; clip to max_speed.

    Every contact inside its margin (neighbour, sensed obstacle, geofence wall) contributes a
    correction computed against the desired velocity; the corrections add up.
    """
    v = np.array(v_des, float)
    if obs.n == 0:
        return v
    receivers, aways, depths, sides = [], [], [], []

    def contact(receiver, away, clearance, margin, sidestep):
        depth = np.clip(1.0 - clearance / margin, 0.0, 1.0)
        receivers.append(receiver), aways.append(away), depths.append(depth)
        sides.append(np.full(len(depth), sidestep))

    if safety_jit.use_compiled(obs.n):
        near = safety_jit.near_contacts(obs, radius, p.max_extrapolation, p.separation_margin)
        if safety_jit.fusable(v):
            return safety_jit.corrected(obs, v, near, radius, max_speed, p, WALLS, Sensing.fence_normal)
        rcv, away, clear = near
        if len(rcv):
            contact(rcv, away, clear, p.separation_margin, p.sidestep)
    else:
        rcv, away, clear = neighbour_contacts(obs, radius, p.max_extrapolation)
        near = clear < p.separation_margin
        if near.any():
            contact(rcv[near], away[near], clear[near], p.separation_margin, p.sidestep)
    s: Sensing = obs.sensing
    if s.obstacle_clearance.size:
        oc = s.obstacle_clearance - radius[:, None]
        i, j = np.nonzero(oc < p.obstacle_margin)
        if len(i):
            contact(i, s.obstacle_normal[i, j], oc[i, j], p.obstacle_margin, p.sidestep)
    fc = s.fence_clearance[:, WALLS] - radius[:, None]
    i, j = np.nonzero(fc < p.fence_margin)
    if len(i):
        contact(i, Sensing.fence_normal[WALLS][j], fc[i, j], p.fence_margin, 0.0)
    if receivers:
        v += _corrections(v, np.concatenate(receivers), np.concatenate(aways), np.concatenate(depths),
                          np.concatenate(sides), p)
    return clip_norm(v, max_speed)
