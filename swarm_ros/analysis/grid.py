"""Per-drone odometry resampled onto one common time grid, so swarm metrics compare drones at
the same instants.

Clock: header stamps (the time the state was valid; mission time in our bags), unless they are
missing (all zero, or mostly repeated), then log (receive) times. Grid: from the earliest to
the latest sample at the fastest drone's median odometry period. Position: linear
interpolation between a drone's own samples; NaN outside its first..last sample (the drone is
absent there). Bounded against damaged or hostile bags: a position that is not finite or lies
beyond MAX_COORD is dropped (counted in `notes`); samples stamped far from the rest of their
drone's (a changed stamp byte) are dropped as outliers; and the grid has at most a few steps
per message (and MAX_STEPS), coarsened if need be, so memory follows the bag's size, not the span
its stamps claim. Velocity: central differences of the gridded positions (one-sided at a drone's
ends), because Odometry.twist is in the child frame by convention but in world axes in some
publishers (ours): positions mean the same thing everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bag import BagError, Recording

GAP_PERIODS = 3        # a hole longer than this many odometry periods is reported as a gap
MAX_COORD = 1e6        # m from the origin: a position beyond is corrupt, not flown
STRAY_GAP = 600.0      # s: a drone's samples this far from the bulk of its own are outliers ...
STRAY_SHARE = 0.01     # ... when they are at most this share of its samples
STEPS_PER_MESSAGE = 4  # grid steps allowed per odometry message (and at least MIN_STEPS) ...
MIN_STEPS = 10_000
MAX_STEPS = 2_000_000  # ... and at most this many steps x drones in all (about 48 MB of positions)


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
    notes: list              # what was dropped or coarsened, one line each


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


def _usable(xyz: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(xyz).all(axis=1) & (np.abs(xyz) <= MAX_COORD).all(axis=1)


def _strays(t: np.ndarray) -> np.ndarray:
    """Mask of the samples to keep: split the sorted stamps at holes longer than STRAY_GAP and
    drop the runs that hold at most STRAY_SHARE of the samples (the largest run always stays)."""
    keep = np.ones(len(t), dtype=bool)
    if len(t) < 2:
        return keep
    cuts = np.flatnonzero(np.diff(t) > STRAY_GAP * 1e9) + 1
    if not len(cuts):
        return keep
    bounds = np.concatenate([[0], cuts, [len(t)]])
    sizes = np.diff(bounds)
    biggest = int(np.argmax(sizes))
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        if k != biggest and sizes[k] <= STRAY_SHARE * len(t):
            keep[a:b] = False
    return keep


def build_trajectories(rec: Recording) -> Trajectories:
    arrays = {n: rec.tracks[n].arrays() for n in rec.drones if n in rec.tracks}
    notes = []
    for n, (_, _, xyz) in arrays.items():
        with np.errstate(invalid="ignore"):
            wild = int((~_usable(xyz) & ~np.isnan(xyz).any(axis=1)).sum())
        if wild:
            notes.append(f"{n}: {wild} odometry positions infinite or beyond {MAX_COORD:g} m dropped (corrupt)")
    names = [n for n, (_, _, xyz) in arrays.items() if _usable(xyz).any()]
    if not names:
        raise BagError(f"{rec.path}: no odometry message holds a finite position within {MAX_COORD:g} m")
    raw = [arrays[n] for n in names]
    header = _stamps_usable(raw)
    per_drone, periods = [], []
    for n, (stamp, log, xyz) in zip(names, raw):
        ok = _usable(xyz)                          # a NaN (or corrupt) pose carries no position: drop it
        t, (lg, p) = _dedup((stamp if header else log)[ok], [log[ok], xyz[ok]])
        keep = _strays(t)
        if not keep.all():
            notes.append(f"{n}: {int((~keep).sum())} odometry samples stamped more than {STRAY_GAP:g} s "
                         "away from the rest dropped (corrupt stamps)")
            t, lg, p = t[keep], lg[keep], p[keep]
        per_drone.append((t, lg, p))
        if len(t) > 1:
            periods.append(int(np.median(np.diff(t))))
    dt_ns = max(min(periods), 1) if periods else 1_000_000_000
    t0 = min(int(t[0]) for t, _, _ in per_drone)
    t_end = max(int(t[-1]) for t, _, _ in per_drone)
    messages = sum(len(t) for t, _, _ in per_drone)
    limit = min(max(STEPS_PER_MESSAGE * messages, MIN_STEPS), MAX_STEPS // len(names))
    if (t_end - t0) // dt_ns + 1 > limit:
        dt_ns = -(-(t_end - t0) // (limit - 1))
        notes.append(f"time grid coarsened to {dt_ns * 1e-9:.3g} s: {len(names)} drones over "
                     f"{(t_end - t0) * 1e-9:.6g} s would exceed {limit} steps")
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
                        _velocity(pos, dt_ns * 1e-9), samples, distance, gaps, clock_log, clock_t, notes)


def event_times(traj: Trajectories, log_ns) -> np.ndarray:
    """Times on the grid clock of events known only by their log time (radio, update status)."""
    log_ns = np.asarray(log_ns, np.int64)
    if traj.clock == "log times":
        return (log_ns - traj.t0_ns) * 1e-9
    return np.interp(log_ns.astype(float), traj.clock_log.astype(float), traj.clock_t)
