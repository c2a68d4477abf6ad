"""One self-contained HTML page per analysis: inline CSS, plots as base64 data URIs, no script
and no external resource, so it opens offline, from a mail attachment or a CI artifact."""
from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from .compare import summary_rows

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
body.compare{max-width:2500px}p{overflow-wrap:anywhere}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
.table{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f2f2f2}
.note{color:#8a5300}.bad{color:#b00;font-weight:bold}.ok{color:#070}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,1100px),1fr));gap:0 2.5em}
.cols>div{min-width:0}
small{color:#666}
"""
# Runs of a comparison sit side by side only where both fit whole (about 2300 px of window);
# narrower windows stack them, so no table is ever squeezed into a neighbour's column.
MAX_EVENTS = 50


def _table(header: list, rows: list) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="table"><table><tr>{head}</tr>{body}</table></div>'


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _num(x, pat="{:.3f}"):
    return "n/a" if x is None else pat.format(x)


def _drone_rows(m: dict) -> list:
    return [[d["name"], d["type"] or "", d["role"] or "", d["samples"], f"{d['distance']:.2f}",
             _num(d["min_separation"]), _num(d["max_speed"], "{:.2f}"), d["near_misses"],
             _num(d["collisions"], "{}"), _num(d["geofence_violations"], "{}"),
             f"{d['odom_gaps']['count']} (max {d['odom_gaps']['longest']:.2f} s)"] for d in m["drones"]]


DRONE_HEADER = ["drone", "type", "role", "samples", "distance (m)", "min sep task (m)", "max speed (m/s)",
                "near misses", "collisions", "geofence", "odometry gaps"]


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _events(title: str, events: list, columns: list) -> str:
    if not events:
        return f"<p>{escape(title)}: none.</p>"
    rows = [[f"{e['t']:.2f}"] + [_cell(e.get(c)) for c in columns] for e in events[:MAX_EVENTS]]
    more = f"<p><small>{len(events) - MAX_EVENTS} more in metrics.json</small></p>" if len(events) > MAX_EVENTS else ""
    return f"<h3>{escape(title)} ({len(events)})</h3>" + _table(["t (s)"] + columns, rows) + more


def _meta(key: str, value: str) -> str:
    """One item of the bag's metadata as a reader wants it (the phase times are stored as JSON)."""
    if key == "phases":
        try:
            p = json.loads(value)
            return f"take-off until {float(p['takeoff_end']):g} s, landing from {float(p['task_end']):g} s"
        except (ValueError, TypeError, KeyError):
            pass
    return f"{key} {value}"


def run_section(m: dict, plots: dict) -> str:
    """Everything about one run (also used twice, side by side, in a comparison)."""
    parts = [f"<p><b>bag</b> {escape(m['bag'])} ({escape(m['storage'])}, {m['messages_read']} messages read)"]
    if m["mission"]:
        parts.append("<br><b>mission</b> " + escape(", ".join(_meta(k, v) for k, v in m["mission"].items())))
    parts.append(f"<br><b>world</b> {escape(m['world']['name'] + ' from ' + m['world']['source']) if m['world'] else 'unknown'}"
                 f"<br><b>body radii</b> {escape(m['body_radii'] or 'unknown')}</p>")
    parts += [f'<p class="note">{escape(n)}</p>' for n in m["notes"]]
    parts.append("<h2>Summary</h2>" + _table(["metric", "value"], summary_rows(m)))
    parts.append("<h2>Drones</h2>" + _table(DRONE_HEADER, _drone_rows(m)))
    parts.append("<h2>Events</h2>")
    col = m["collisions"]
    if col.get("available"):
        parts.append(_events("collisions", col["events"], ["kind", "drones", "separation", "obstacle"]))
    else:
        parts.append(f"<p>collisions: unavailable ({escape(col['reason'])})</p>")
    parts.append(_events(f"near misses, {m['near_misses']['threshold']}", m["near_misses"]["events"],
                         ["drones", "separation", "duration"]))
    geo = m["geofence"]
    parts.append(_events("geofence violations", geo["events"], ["drone"]) if geo.get("available")
                 else f"<p>geofence: unavailable ({escape(geo['reason'])})</p>")
    mv = m["model_versions"]
    parts.append("<h2>Model versions</h2>")
    if mv.get("available"):
        rows = [[n, " -> ".join(f"{e['version']} @ {e['t']:.1f} s" for e in ev) if ev else "not recorded"]
                for n, ev in mv["per_drone"].items()]
        parts.append(_table(["drone", "versions"], rows))
    else:
        parts.append(f"<p>{escape(mv['reason'])}</p>")
    radio = m["radio"]
    parts.append("<h2>Radio</h2>")
    if radio.get("available", True):
        rows = [[d["name"], d["sent"], d["received"], d["links"], _num(d["delivery_ratio"])] for d in radio["drones"]]
        parts.append(_table(["drone", "sent", "received", "links in range", "delivery ratio"], rows)
                     + f"<p><small>link range: {escape(radio['link_range'])}</small></p>")
    else:
        parts.append(f"<p>{escape(radio['reason'])}</p>")
    parts.append("<h2>Plots</h2>" + "".join(_img(p, name) for name, p in plots.items()))
    g = m["grid"]
    parts.append(f"<h2>Method</h2><p><small>time grid: {g['steps']} steps of {g['dt']:g} s on the {escape(g['clock'])} "
                 f"clock; {escape(g['interpolation'])}. Polarization and milling over drones faster than "
                 f"{m['polarization']['min_speed']:g} m/s.</small></p>")
    return "\n".join(parts)


def _page(title: str, body: str, kind: str = "run") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            f'<link rel="icon" href="data:,"><style>{STYLE}</style></head>'
            f'<body class="{kind}"><h1>{escape(title)}</h1>\n{body}\n</body></html>\n')


def write_report(m: dict, plots: dict, path: Path) -> Path:
    name = m["mission"].get("mission") or Path(m["bag"]).name
    path.write_text(_page(f"swarm-ros analysis: {name}", run_section(m, plots)), encoding="utf-8")
    return path


def write_comparison(comp: dict, runs: list, path: Path) -> Path:
    """`runs`: [(metrics, plots)] for A and B."""
    rows = [[r["metric"] + (f" ({r['unit']})" if r["unit"] else ""), *r["text"]] for r in comp["rows"]]
    body = (f"<p><b>A</b> {escape(comp['a'])}<br><b>B</b> {escape(comp['b'])}</p>"
            + _table(["metric", "A", "B", "B - A"], rows)
            + '<div class="cols">' + "".join(f"<div><h2>Run {tag}</h2>{run_section(m, p)}</div>"
                                             for tag, (m, p) in zip("AB", runs)) + "</div>")
    path.write_text(_page("swarm-ros analysis: A vs B", body, "compare"), encoding="utf-8")
    return path
