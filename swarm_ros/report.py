"""The end-of-mission summary as a terminal table."""
from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text


def cell(value, pattern: str = "{:g}", missing: str = "-") -> str:
    """A table cell: `missing` for what has no value (None, NaN, infinity), never "nan" or "inf"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return pattern.format(value)


def summary_table(summary: dict) -> Group:
    table = Table(title=f"mission {summary['mission']}: summary", title_justify="left")
    for col, justify in (("drone", "left"), ("type", "left"), ("role", "left"), ("dist (m)", "right"),
                         ("min sep (m)", "right"), ("collisions", "right"), ("geofence", "right"),
                         ("late", "right"), ("landed", "center")):
        table.add_column(col, justify=justify)
    for d in summary["drones"]:
        table.add_row(d["name"], d["type"], d["role"], cell(d["distance"], "{:.2f}"), cell(d["min_separation"], "{:.3f}"),
                      str(d["collisions"]), str(d["geofence_violations"]), str(d.get("late_ticks", 0)),
                      "yes" if d["landed"] else "NO")
    radio = summary["radio"]
    ok = summary["collisions"] == 0 and summary["geofence_violations"] == 0
    pace = f", x{summary['rtf']:.2f} real time ({summary['mode']})" if "rtf" in summary else ""
    lines = [
        f"sim time {summary['sim_time']:.1f} s in {summary['ticks']} ticks{pace}",
        f"collisions {summary['collisions']}, geofence violations {summary['geofence_violations']}, "
        f"minimum separation {cell(summary['min_separation'], '{:.3f} m', 'n/a (one drone)')}",
        f"radio: {radio['sent']} beacons sent, {radio['delivered']} deliveries, {radio['lost']} lost in range",
    ]
    obj = summary.get("objective")
    if obj and obj["iterations"]:
        lines.append(f"objective {obj['kind']}: J {obj['first_cost']:.4g} -> {obj['final_cost']:.4g} "
                     f"(best {obj['best_cost']:.4g}) over {obj['iterations']} CAO iterations, "
                     f"{obj['members']} drones at the end")
    elif obj:
        lines.append(f"objective {obj['kind']}: no CAO iteration was evaluated")
    plan = summary.get("planning")
    if plan and plan["requests"]:
        lines.append(f"planning: {plan['requests']} requests ({plan['with_sensed_obstacles']} with sensed obstacles, "
                     f"{plan['failed']} without a path), median {plan['median_ms']:.1f} ms, max {plan['max_ms']:.1f} ms")
    if summary.get("bag"):
        lines.append(f"bag: {summary['bag']}  (ros2 bag info {summary['bag']}; or open the .mcap in Foxglove)")
    verdict = Text("mission OK" if ok else "SAFETY VIOLATIONS", style="bold green" if ok else "bold red")
    return Group(table, *[Text(line) for line in lines], verdict)
