"""The figures of a run that summarise it, as rows; two runs side by side with their difference.

The terminal table, the HTML report and comparison.json all use these rows, so they agree.
"""
from __future__ import annotations

import math

from ..report import cell


def _get(m: dict, *keys):
    for k in keys:
        if not isinstance(m, dict) or m.get("available") is False:
            return None
        m = m.get(k)
    return m


def _sum_distance(m: dict):
    return sum(d["distance"] for d in m["drones"])


# (label, unit, how to read it from metrics.json, number format)
ROWS = [
    ("drones", "", lambda m: len(m["drones"]), "{:d}"),
    ("duration", "s", lambda m: m["grid"]["duration"], "{:.1f}"),
    ("distance flown, all drones", "m", _sum_distance, "{:.2f}"),
    ("minimum separation", "m", lambda m: _get(m, "separation", "min"), "{:.3f}"),   # the task phase
    ("minimum separation, take-off and landing", "m", lambda m: _get(m, "separation", "takeoff_landing_min"),
     "{:.3f}"),
    ("minimum separation, on the pads", "m", lambda m: _get(m, "separation", "pads_min"), "{:.3f}"),
    ("near misses", "", lambda m: _get(m, "near_misses", "count"), "{:d}"),
    ("collisions", "", lambda m: _get(m, "collisions", "total"), "{:d}"),
    ("geofence violations", "", lambda m: _get(m, "geofence", "violations"), "{:d}"),
    ("polarization, mean", "", lambda m: _get(m, "polarization", "mean"), "{:.3f}"),
    ("milling, mean", "", lambda m: _get(m, "milling", "mean"), "{:.3f}"),
    ("coverage", "", lambda m: _get(m, "coverage", "fraction"), "{:.1%}"),
    ("radio delivery ratio", "", lambda m: _get(m, "radio", "delivery_ratio"), "{:.3f}"),
    ("radio packets sent", "", lambda m: _get(m, "radio", "sent"), "{:d}"),
]


def fmt(value, pattern: str) -> str:
    return cell(value, pattern, "n/a")


def _signed(delta, pattern: str) -> str:
    text = fmt(delta, pattern)
    return "+" + text if text != "n/a" and delta > 0 else text


def summary_rows(m: dict) -> list[tuple[str, str]]:
    """(label with unit, formatted value) for one run."""
    return [(label + (f" ({unit})" if unit else ""), fmt(get(m), pat)) for label, unit, get, pat in ROWS]


def comparison(a: dict, b: dict) -> dict:
    """JSON-ready side-by-side of two runs: value in each and B - A where both are numbers."""
    rows = []
    for label, unit, get, pat in ROWS:
        va, vb = get(a), get(b)
        delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        if delta is not None and not math.isfinite(delta):
            delta = None                 # keeps comparison.json valid JSON (no NaN)
        rows.append({"metric": label, "unit": unit, "a": va, "b": vb, "b_minus_a": delta,
                     "text": [fmt(va, pat), fmt(vb, pat), _signed(delta, pat)]})
    return {"a": a["bag"], "b": b["bag"], "rows": rows}
