"""A shipped mission cut shorter for a test: same fleet, world, controllers and seed, fewer ticks.
A test of a mechanism (lockstep equality, a fault, a drone joining) proves the same on a shorter
flight, and flight time is most of what the slow tests cost."""
from __future__ import annotations

from pathlib import Path

import yaml

MISSIONS = Path(__file__).resolve().parent.parent / "config" / "missions"


def cut_mission(name: str, folder: Path, changes: dict) -> Path:
    """The shipped mission NAME with `changes` ({"duration": 30, "objective.changes": [...]}:
    dotted keys into the file) as a file in `folder`, with absolute fleet and world paths."""
    source = MISSIONS / f"{name}.yaml"
    data = yaml.safe_load(source.read_text())
    for key in ("fleet", "world"):
        data[key] = str((source.parent / data[key]).resolve())
    for key, value in changes.items():
        *parents, last = key.split(".")
        node = data
        for k in parents:
            node = node[k]
        node[last] = value
    path = Path(folder) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
