"""Per-drone odometry resampled onto one common time grid, so swarm metrics compare drones at
the same instants.

Clock: header stamps (the time the state was valid; mission time in our bags), unless they are
missing (all zero, or mostly repeated), then log (receive) times. Grid: from the earliest to
the latest sample at the fastest drone's median odometry period. Position: linear
interpolation between a drone's own samples; NaN outside its first..last sample (the drone is
absent there). Velocity: central differences of the gridded positions (one-sided at a drone's
ends), because Odometry.twist is in the child frame by convention but in world axes in some
publishers (ours): positions mean the same thing everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bag import BagError, Recording

GAP_PERIODS = 3        # a hole longer than this many odometry periods is reported as a gap


@dataclass
class Trajectories:
    names: list
    t: np.ndarray            # (T,) s from t0_ns
    t0_ns: int
    dt: float
    clock: str               # "header stamps" or "log times"
    pos: np.ndarray          # (T, N, 3), NaN where a drone is absent
    vel: np.ndarray          # (T, N, 3)
    samples: np.ndarray      # (N,) odometry samples per drone (after removing repeated stamps)
    distance: np.ndarray     # (N,) m flown: sum of steps between the drone's own samples
    gaps: list               # per drone: (count of gaps, longest gap in s)
    clock_log: np.ndarray    # odometry log times (ns), increasing, and ...
    clock_t: np.ndarray      # ... their times on the grid clock: maps header-less events


def _stamps_usable(tracks) -> bool:
    stamps = np.concatenate([s for s, _, _ in tracks])
    return bool(stamps.any()) and all(len(np.unique(s)) > 0.9 * len(s) for s, _, _ in tracks if len(s) > 1)


def _dedup(time_ns: np.ndarray, other: list[np.ndarray]):
    """Sort by time and keep the last message of each repeated stamp."""
    order = np.argsort(time_ns, kind="stable")
    t = time_ns[order]
    keep = np.append(t[1:] != t[:-1], True)
    return t[keep], [a[order][keep] for a in other]


def _velocity(pos: np.ndarray, dt: float) -> np.ndarray:
    """Central differences; one-sided where a neighbour sample is missing (a drone's ends)."""
    vel = np.full_like(pos, np.nan)
    vel[1:-1] = pos[2:] - pos[:-2]
    vel[1:-1] /= 2 * dt
    for here, there, sign in ((slice(0, -1), slice(1, None), 1.0), (slice(1, None), slice(0, -1), -1.0)):
        hole = np.isnan(vel[here]) & ~np.isnan(pos[there]) & ~np.isnan(pos[here])
        vel[here][hole] = sign * (pos[there][hole] - pos[here][hole]) / dt
    return vel


def build_trajectories(rec: Recording) -> Trajectories:
    arrays = {n: rec.tracks[n].arrays() for n in rec.drones if n in rec.tracks}
    names = [n for n, (_, _, xyz) in arrays.items() if np.isfinite(xyz).all(axis=1).any()]
    if not names:
        raise BagError(f"{rec.path}: no odometry message holds a finite position")
    raw = [arrays[n] for n in names]
    header = _stamps_usable(raw)
    per_drone, periods = [], []
    for stamp, log, xyz in raw:
        ok = np.isfinite(xyz).all(axis=1)          # a NaN pose carries no position: drop it
        t, (lg, p) = _dedup((stamp if header else log)[ok], [log[ok], xyz[ok]])
        per_drone.append((t, lg, p))
        if len(t) > 1:
            periods.append(int(np.median(np.diff(t))))
    dt_ns = max(min(periods), 1) if periods else 1_000_000_000
    t0 = min(int(t[0]) for t, _, _ in per_drone)
    t_end = max(int(t[-1]) for t, _, _ in per_drone)
    steps = (t_end - t0) // dt_ns + 1
    grid_ns = np.arange(steps, dtype=np.int64) * dt_ns
    tgrid = grid_ns * 1e-9
    pos = np.full((steps, len(names), 3), np.nan)
    distance, samples, gaps = np.zeros(len(names)), np.zeros(len(names), int), []
    for k, (t, _, p) in enumerate(per_drone):
        ts = (t - t0) * 1e-9
        inside = (tgrid >= ts[0]) & (tgrid <= ts[-1])
        for axis in range(3):
            pos[inside, k, axis] = np.interp(tgrid[inside], ts, p[:, axis])
        distance[k] = np.linalg.norm(np.diff(p, axis=0), axis=1).sum()
        samples[k] = len(t)
        holes = np.diff(ts)
        big = holes[holes > GAP_PERIODS * dt_ns * 1e-9]
        gaps.append((int(len(big)), float(big.max()) if len(big) else 0.0))
    logs = np.concatenate([lg for _, lg, _ in per_drone])
    times = np.concatenate([(t - t0) * 1e-9 for t, _, _ in per_drone])
    order = np.argsort(logs, kind="stable")
    clock_log, clock_t = logs[order], np.maximum.accumulate(times[order])
    return Trajectories(names, tgrid, t0, dt_ns * 1e-9, "header stamps" if header else "log times", pos,
                        _velocity(pos, dt_ns * 1e-9), samples, distance, gaps, clock_log, clock_t)


def event_times(traj: Trajectories, log_ns) -> np.ndarray:
    """Times on the grid clock of events known only by their log time (radio, update status)."""
    log_ns = np.asarray(log_ns, np.int64)
    if traj.clock == "log times":
        return (log_ns - traj.t0_ns) * 1e-9
    return np.interp(log_ns.astype(float), traj.clock_log.astype(float), traj.clock_t)
