"""What mission files say about the rigid-body backend, importable without PyBullet."""
from __future__ import annotations

from dataclasses import dataclass, fields

# Below this physics rate the rate loop (gain up to 40 / s) and contact handling are not stable.
MIN_PHYSICS_RATE = 100.0


@dataclass(frozen=True)
class Aero:
    """Which aerodynamic effects the pybullet backend models (mission file, `sim` section)."""
    drag: bool = True
    ground_effect: bool = True
    downwash: bool = True


AERO_FIELDS = tuple(f.name for f in fields(Aero))
