"""How well the rings mission's rings are formed: per ring, the angular gaps round its centre
and the drones' speeds (shared by the headless and the ROS end-to-end checks)."""
from __future__ import annotations

import numpy as np

GAP_TOLERANCE = 0.15     # each angular gap within 15 % of 360 deg / n
SETTLED_SPEED = 0.03     # m/s: slower than this is settled


def rings(mission, position, velocity) -> dict:
    """Role -> {"gaps": angular gaps (deg, sorted round the ring), "even": 360 / n, "speed": per drone}."""
    out = {}
    for role in mission.roles.values():
        idx = [d.index for d in mission.fleet.drones if d.role == role.name]
        c = role.params.center
        angles = np.sort(np.degrees(np.arctan2(position[idx, 1] - c[1], position[idx, 0] - c[0])))
        gaps = np.diff(np.r_[angles, angles[0] + 360.0])
        out[role.name] = {"gaps": gaps, "even": 360.0 / len(idx),
                          "speed": np.linalg.norm(velocity[idx], axis=1)}
    return out


def assert_real_rings(mission, position, velocity) -> None:
    """Every ring evenly spread round its centre and every drone settled."""
    for role, r in rings(mission, position, velocity).items():
        assert np.abs(r["gaps"] - r["even"]).max() <= GAP_TOLERANCE * r["even"], \
            f"{role}: angular gaps {np.round(r['gaps'], 1)} deg, even is {r['even']:g} deg"
        assert r["speed"].max() < SETTLED_SPEED, f"{role}: still moving at {np.round(r['speed'], 3)} m/s"
