"""One run's analysis: bag -> trajectories -> every metric, as JSON-ready figures plus the time
series the plots draw. Anything that cannot be computed says why instead of a number."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .bag import META, read_bag
from .context import build_context
from .coverage import coverage
from .defaults import FOOTPRINT, MIN_SPEED, NEAR_MISS_MARGIN
from .grid import build_trajectories, event_times
from .order import milling, nan_stats, polarization, speeds
from .phases import phase_steps, phase_times
from .radiostats import radio_stats
from .safety import pair_events, separation, world_events

INTERPOLATION = ("positions linear between each drone's own odometry samples (NaN outside its first..last "
                 "sample); velocities central differences of the gridded positions")


def unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def num(x):
    """A float for JSON: None for NaN and infinities (JSON has neither)."""
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass
class Analysis:
    metrics: dict        # what metrics.json holds
    traj: object         # grid.Trajectories
    series: dict         # name -> array over traj.t (plots)
    world: object | None
    coverage_map: np.ndarray | None
    phases: dict | None = None   # phases.phase_times: take-off / task / landing on the grid


def _versions(rec, traj) -> dict:
    if not rec.updates:
        return unavailable("not recorded (no /<drone>/update/status topics in the bag)")
    out = {}
    for n in traj.names:
        events = rec.updates.get(n)
        if events is None:
            out[n] = None
            continue
        times = event_times(traj, [lg for lg, _ in events])
        out[n] = [{"t": float(t), "version": v} for t, (_, v) in zip(times, events)]
    return {"available": True, "per_drone": out}


def _step_min(values: np.ndarray, steps: np.ndarray):
    """Smallest finite value over the selected steps, or None."""
    v = values[steps]
    v = v[np.isfinite(v)]
    return float(v.min()) if len(v) else None


def analyze(path, world_file: str | None = None, near_miss: float | None = None,
            footprint: float = FOOTPRINT, min_speed: float = MIN_SPEED,
            progress: Callable[[int, int], None] | None = None, mission_file: str | None = None) -> Analysis:
    rec = read_bag(path, progress)
    ctx = build_context(rec, world_file, mission_file)
    traj = build_trajectories(rec)
    ctx.keep(traj.names)
    names, t = traj.names, traj.t
    radius = ctx.radius
    margin = NEAR_MISS_MARGIN if near_miss is None else near_miss
    pair_radius = (2 * float(radius.max()) if radius is not None else 0.0) + margin
    sep = separation(traj.pos, pair_radius)
    pairs = pair_events(sep, radius, margin, t, names)
    world = world_events(traj.pos, radius, ctx.world, t, names) if ctx.world is not None else None
    speed = speeds(traj.vel)
    pol, mill = polarization(traj.vel, min_speed), milling(traj.pos, traj.vel, min_speed)
    cov = coverage(traj.pos, t, ctx.world, footprint) if ctx.world is not None else None

    phases = phase_steps(rec, ctx.mission, traj)
    per_step = sep.per_step
    finite = np.isfinite(per_step) & phases.task
    k_min = int(np.nanargmin(np.where(finite, per_step, np.nan))) if finite.any() else None
    closest = None
    if k_min is not None:
        a = int(np.argmin(sep.nearest[k_min]))
        d = np.linalg.norm(traj.pos[k_min] - traj.pos[k_min, a], axis=1)
        d[a] = np.inf
        closest = [names[a], names[int(np.nanargmin(d))]]
    drones = []
    for k, n in enumerate(names):
        info = rec.info.get(n) or {}
        sp = speed[:, k][np.isfinite(speed[:, k])]
        row = {"name": n, "type": info.get("type"), "role": info.get("role"), "platform": info.get("platform"),
               "body_radius": num(radius[k]) if radius is not None else None,
               "samples": int(traj.samples[k]), "distance": float(traj.distance[k]),
               "min_separation": _step_min(sep.nearest[:, k], phases.task),
               "min_separation_takeoff_landing": _step_min(sep.nearest[:, k], phases.takeoff_landing),
               "min_separation_pads": num(sep.nearest[phases.pads, k]) if phases.pads is not None else None,
               "max_speed": num(sp.max()) if len(sp) else None, "mean_speed": num(sp.mean()) if len(sp) else None,
               "near_misses": sum(n in e["drones"] for e in pairs["near_miss_events"]),
               "odom_gaps": {"count": traj.gaps[k][0], "longest": traj.gaps[k][1]}}
        row["collisions"] = int(pairs["collisions_per_drone"][k] + (world["obstacle_per_drone"][k] if world else 0)) \
            if radius is not None else None
        row["geofence_violations"] = int(world["fence_per_drone"][k]) if world else None
        drones.append(row)

    if radius is None:
        collisions = unavailable("body radii unknown")
    else:
        events = pairs["collision_events"] + (world["obstacle_events"] if world else [])
        collisions = {"available": True, "total": len(events), "drone_drone": len(pairs["collision_events"]),
                      "obstacle": len(world["obstacle_events"]) if world else None,
                      "definition": "onsets of centre distance < r_i + r_j (drones) or obstacle signed distance < r_i",
                      "events": sorted(events, key=lambda e: e["t"])}
        if world is None:
            collisions["obstacle_note"] = "obstacle contacts unavailable: world unknown"
    metrics = {
        "bag": rec.path, "storage": rec.storage, "messages_read": rec.messages_read,
        "mission": {k[len(META):]: v for k, v in rec.custom.items() if k.startswith(META) and k != META + "drones"},
        "world": {"name": ctx.world.name, "source": ctx.world_source} if ctx.world is not None else None,
        "body_radii": ctx.radius_source or None,
        "notes": ([rec.lost] if rec.lost else []) + ctx.notes + traj.notes,
        "grid": {"clock": traj.clock, "dt": traj.dt, "steps": len(t), "duration": float(t[-1]) if len(t) else 0.0,
                 "interpolation": INTERPOLATION},
        "drones": drones,
        "separation": {"min": num(per_step[k_min]) if k_min is not None else None,
                       "t": float(t[k_min]) if k_min is not None else None, "pair": closest,
                       "mean_of_step_minima": num(np.mean(per_step[finite])) if finite.any() else None,
                       "phase": "task" if phases.bounds is not None else "whole run",
                       "takeoff_landing_min": _step_min(per_step, phases.takeoff_landing),
                       "pads_min": num(per_step[phases.pads]) if phases.pads is not None else None},
        "phases": {"task": list(phases.bounds), "source": phases.source} if phases.bounds is not None
        else unavailable(phases.source),
        "near_misses": {"threshold": f"centre distance < r_i + r_j + {margin:g} m" if radius is not None
                        else f"centre distance < {margin:g} m (body radii unknown)",
                        "margin": margin, "count": len(pairs["near_miss_events"]),
                        "events": pairs["near_miss_events"]},
        "collisions": collisions,
        "geofence": {"available": True, "violations": len(world["fence_events"]), "events": world["fence_events"],
                     "definition": "onsets of a drone centre outside the geofence box"}
        if world else unavailable("world unknown"),
        "polarization": {**nan_stats(pol[phases.task]), "min_speed": min_speed},
        "milling": {**nan_stats(mill[phases.task]), "min_speed": min_speed},
        "coverage": ({k: v for k, v in cov.items() if k not in ("over_time", "seen_map")}
                     | {"coverage_mission": ctx.coverage_mission}) if cov else unavailable("world unknown"),
        "model_versions": _versions(rec, traj),
        "radio": radio_stats(rec, traj, ctx.radio_range) if rec.radio_recorded
        else unavailable("not recorded (no /<drone>/radio/tx or radio/rx topics)"),
    }
    if rec.summary:
        metrics["live_summary"] = {k: rec.summary.get(k) for k in ("collisions", "geofence_violations", "min_separation",
                                                                    "min_separation_takeoff_landing", "min_separation_pads")
                                   if k in rec.summary}
    series = {"min_separation": per_step, "polarization": pol, "milling": mill, "speed": speed}
    if cov:
        series["coverage"] = cov["over_time"]
    return Analysis(metrics, traj, series, ctx.world, cov["seen_map"] if cov else None,
                    phase_times(rec, ctx.mission, traj))
