"""The end-of-mission verdict and exit code, and the summary as a terminal table. (rich is
imported only for the table: the simulator node judges its run with the same functions.)"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Group


def cell(value, pattern: str = "{:g}", missing: str = "-") -> str:
    """A table cell: `missing` for what has no value (None, NaN, infinity), never "nan" or "inf"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return pattern.format(value)


LATE_LIMIT = 0.01     # fraction of drone-ticks with a late command above which a run is not "OK"
LATE_CAPTION = ("late: ticks at which the drone's command reached the simulator after its tick (in real time; "
                "in lockstep only when the drone fell silent and was held in a hover), so the drone flew its "
                "previous setpoint")


def late_fraction(summary: dict) -> float:
    """Late drone-ticks over all drone-ticks of the run."""
    drone_ticks = summary.get("ticks", 0) * len(summary["drones"])
    return summary.get("late_ticks", 0) / drone_ticks if drone_ticks else 0.0


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f} %" if 100 * fraction < 10 else f"{100 * fraction:.0f} %"


LAND_TOLERANCE = 0.5  # m between where a drone stands at the end and where it should have landed


def landing_failures(summary: dict) -> list[str]:
    """One phrase per drone that did not land where the mission says: a drone has landed when it
    is on the ground and still (height < 5 cm, speed < 0.1 m/s: motors idle) within LAND_TOLERANCE
    of its landing point (its start pad with `land: {at: home}`, else the point below where the
    landing began)."""
    out = []
    for d in summary["drones"]:
        error = d.get("land_error")
        if not d.get("landed", True):
            where = d.get("position")
            out.append(f"{d['name']} did not land" + (f" (at {where[2]:.2f} m)" if where else ""))
        elif error is not None and error > LAND_TOLERANCE:
            out.append(f"{d['name']} landed {error:.2f} m from its landing point")
    return out


def safety_failures(summary: dict) -> list[str]:
    """The safety figures that failed, as phrases ('2 collisions', '1 geofence violation')."""
    out = []
    for key, word in (("collisions", "collision"), ("geofence_violations", "geofence violation")):
        n = summary.get(key, 0)
        if n:
            out.append(f"{n} {word}{'s' if n != 1 else ''}")
    return out


def lost_drones(summary: dict) -> str | None:
    """What the run lost of its drones (summary["lost"]: each declared lost by the simulator), or None."""
    lost = summary.get("lost") or []
    if not lost:
        return None
    return ", ".join(f"drone {e['name']} lost at t={e['t']:.1f} s"
                     + (f" (back at t={e['rejoined']:.1f} s)" if e.get("rejoined") is not None else "")
                     for e in lost)


def lost_services(summary: dict) -> str | None:
    """Mission services whose process ended during the run (summary["lost_services"]), or None."""
    lost = summary.get("lost_services") or []
    if not lost:
        return None
    return ", ".join(f"service {e['name']} lost at t={e['t']:.1f} s" for e in lost)


def lost_data(summary: dict) -> str | None:
    """What the bag misses (summary["data_lost"]: topic -> messages), or None."""
    lost = {t: n for t, n in (summary.get("data_lost") or {}).items() if n}
    if not lost:
        return None
    return "data lost: " + ", ".join(f"{n} {t} messages" for t, n in sorted(lost.items()))


FAILED = 3             # exit code of a run whose mission failed (and, with --strict, of one that flew late)


def judge(summary: dict) -> tuple[str, str]:
    """(the verdict line, its kind: "ok", "late" or "failed"). Failed on a collision or geofence
    violation, a drone that did not land where the mission says, a drone or mission service
    lost, data missing from the bag; "late" when only more than LATE_LIMIT of the commands were
    late (the controllers were not flown as the mission says). docs/guide/verdicts.md lists
    the verdicts and exit codes."""
    faults = [f for f in (lost_drones(summary), lost_services(summary), lost_data(summary)) if f]
    landing = landing_failures(summary)
    failed = safety_failures(summary)
    if failed:
        return "; ".join(["SAFETY VIOLATIONS: " + ", ".join(failed + landing), *faults]), "failed"
    if faults or landing:
        return "MISSION FAILED: " + "; ".join(faults + landing), "failed"
    late = late_fraction(summary)
    if late > LATE_LIMIT:
        return f"mission flew, but {percent(late)} of commands were late (more than {100 * LATE_LIMIT:g} %)", "late"
    return "mission OK", "ok"


def verdict(summary: dict) -> tuple[str, bool]:
    """(the verdict line, whether the run is OK)."""
    said, kind = judge(summary)
    return said, kind == "ok"


def exit_code(summary: dict, strict: bool = False) -> int:
    """FAILED for a failed mission, and with `strict` also for one that flew late; else 0. Late
    commands alone are the machine's doing more than the mission's (a loaded computer in real
    time), so they fail a run only when asked."""
    kind = judge(summary)[1]
    return FAILED if kind == "failed" or (strict and kind == "late") else 0


def separation_line(summary: dict) -> str:
    """The task phase's minimum separation, with take-off/landing and the pads beside it: pads are
    laid out closer than drones keep in flight, so they are never the headline figure."""
    if len(summary["drones"]) < 2:
        return "n/a (one drone)"
    line = cell(summary["min_separation"], "{:.3f} m", "n/a")
    if "min_separation_pads" in summary:      # summaries written before the phases were kept apart lack it
        line += (f" in the task phase (take-off and landing "
                 f"{cell(summary.get('min_separation_takeoff_landing'), '{:.3f} m', 'n/a')}, "
                 f"on the pads {cell(summary['min_separation_pads'], '{:.3f} m', 'n/a')})")
    return line


def summary_table(summary: dict) -> Group:
    """The per-drone table, the run's figures and the verdict. The late column (and its caption)
    is there for runs over ROS, where commands travel between processes; headless runs have none."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    timed = "late_ticks" in summary
    table = Table(title=f"mission {summary['mission']}: summary", title_justify="left",
                  caption=LATE_CAPTION if timed else None, caption_justify="left")
    for col, justify in (("drone", "left"), ("type", "left"), ("role", "left"), ("dist (m)", "right"),
                         ("min sep task (m)", "right"), ("collisions", "right"), ("geofence", "right"),
                         ("late", "right"), ("landed", "center")):
        if col != "late" or timed:
            table.add_column(col, justify=justify)
    for d in summary["drones"]:
        late = [str(d.get("late_ticks", 0))] if timed else []
        table.add_row(d["name"], d["type"], d["role"], cell(d["distance"], "{:.2f}"), cell(d["min_separation"], "{:.3f}"),
                      str(d["collisions"]), str(d["geofence_violations"]), *late, "yes" if d["landed"] else "NO")
    radio = summary["radio"]
    pace = f", x{summary['rtf']:.2f} real time ({summary['mode']})" if "rtf" in summary else ""
    lines = [
        f"sim time {summary['sim_time']:.1f} s in {summary['ticks']} ticks{pace}",
        f"collisions {summary['collisions']}, geofence violations {summary['geofence_violations']}, "
        f"minimum separation {separation_line(summary)}",
    ]
    if timed:
        lines.append(f"late commands: {summary['late_ticks']} of {summary['ticks'] * len(summary['drones'])} "
                     f"drone-ticks ({percent(late_fraction(summary))})")
    lines.append(f"radio: {radio['sent']} beacons sent, {radio['delivered']} deliveries, {radio['lost']} lost in range")
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
    said, ok = verdict(summary)
    return Group(table, *[Text(line) for line in lines], Text(said, style="bold green" if ok else "bold red"))
