"""Aerodynamic effects of the rigid-body backend, batched over all drones (numpy, KD-tree).

- rotor drag: a force against the body-frame air velocity, proportional to the summed rotor
  speed (the blade-flapping / induced-drag model also used by gym-pybullet-drones and gz-sim's
  rotorDragCoefficient).
- ground effect: Cheeseman and Bennett (1955), a rotor at height z over the ground makes
  T / (1 - (r / 4z)^2) for thrust T out of ground effect; z is clipped at r / 2 (at most +33 %).
- downwash: the wake of a drone above is a round jet whose momentum flux is its thrust T; with a
  Gaussian profile of width s(dz) = s0 + SPREAD dz its centreline velocity squared is
  T / (rho pi s^2), and a drone below at horizontal distance d feels the dynamic pressure on its
  planform area A: F = Cd A T exp(-d^2 / s^2) / (2 pi s^2), downwards. s0 is half the frame
  radius (arm + propeller); SPREAD 0.1 is the usual half-width growth of a free jet. Modelling
  choice, not fitted to measurements. Pairs come from a KD-tree over horizontal positions.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

SPREAD = 0.1            # wake half-width growth per metre below the rotor
DRAG_CD = 1.0           # drag coefficient of a drone's planform in a vertical jet
DOWNWASH_REACH = 3.0    # m horizontal, beyond which no wake is looked for
DOWNWASH_DEPTH = 10.0   # m vertical
SMALL_SWARM = 24        # up to this many drones, pairs are enumerated (O(N^2), tiny N); above, a KD-tree


def rotor_drag(rot: np.ndarray, v_world: np.ndarray, rotor_speed_sum: np.ndarray, coeff: np.ndarray) -> np.ndarray:
    """World-frame drag force (N, 3). coeff: (N, 3) per body axis, N per rad/s per m/s."""
    v_body = np.einsum("nji,nj->ni", rot, v_world)
    f_body = -coeff * rotor_speed_sum[:, None] * v_body
    return np.einsum("nij,nj->ni", rot, f_body)


def ground_effect_gain(rotor_height: np.ndarray, prop_radius: np.ndarray) -> np.ndarray:
    """(N, 4) thrust multipliers for rotors at `rotor_height` (N, 4) above the ground."""
    r = prop_radius[:, None]
    z = np.maximum(rotor_height, 0.5 * r)
    return 1.0 / (1.0 - (r / (4.0 * z)) ** 2)


def downwash(position: np.ndarray, thrust: np.ndarray, wake_radius: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Downward force (N,) each drone gets from the wakes of drones above it.

    position (N, 3); thrust (N,) collective thrust; wake_radius (N,) s0; area (N,) planform area."""
    out = np.zeros(len(position))
    if len(position) < 2:
        return out
    if len(position) <= SMALL_SWARM:       # all pairs with numpy: cheaper than building a tree
        i, j = np.triu_indices(len(position), 1)
    else:
        pairs = cKDTree(position[:, :2]).query_pairs(DOWNWASH_REACH, output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
    if not len(i):
        return out
    dz = position[j, 2] - position[i, 2]
    upper = np.where(dz > 0, j, i)          # the drone whose wake it is
    lower = np.where(dz > 0, i, j)
    dz = np.abs(dz)
    d2 = np.sum((position[upper, :2] - position[lower, :2]) ** 2, axis=1)
    keep = (dz > 1e-3) & (dz < DOWNWASH_DEPTH) & (d2 <= DOWNWASH_REACH ** 2)
    upper, lower, dz, d2 = upper[keep], lower[keep], dz[keep], d2[keep]
    s2 = (wake_radius[upper] + SPREAD * dz) ** 2
    force = DRAG_CD * area[lower] * np.maximum(thrust[upper], 0.0) * np.exp(-d2 / s2) / (2.0 * np.pi * s2)
    np.add.at(out, lower, force)
    return out
