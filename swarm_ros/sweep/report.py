"""`swarm-ros sweep report`: the study's figures over seeds. Per setting and metric: the number
of finished runs, mean, sample standard deviation and a 95 % confidence interval of the mean
(Student's t, as seeds are few); one PNG per metric and axis (metric against that axis, a line
per value of the first other categorical axis, other axes pooled); one HTML page with both."""
from __future__ import annotations

import math
from pathlib import Path

from .table import read_table

LEVEL = 0.95


def mean_ci(values: list[float]) -> dict:
    """n, mean, std (ddof 1) and the half-width of the 95 % t-interval of the mean."""
    from scipy import stats
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    mean = sum(xs) / n
    if n == 1:
        return {"n": 1, "mean": mean, "std": None, "ci95": None}
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    return {"n": n, "mean": mean, "std": std, "ci95": float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * std / math.sqrt(n)}


def _ok(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("status") == "ok"]


def per_setting(table: dict) -> list[dict]:
    """One entry per setting: its parameters, runs (ok / all) and each metric's statistics."""
    axes = [a["name"] for a in table["sweep"]["axes"]]
    metrics = table["sweep"]["metrics"]
    groups: dict = {}
    for r in table["rows"]:
        groups.setdefault(r["setting"], []).append(r)
    out = []
    for setting, rows in groups.items():
        ok = _ok(rows)
        out.append({"setting": setting, "params": {a: rows[0].get(a) for a in axes}, "runs": len(rows),
                    "ok": len(ok), "metrics": {m: mean_ci([r.get(m) for r in ok]) for m in metrics}})
    return out


def _numeric(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def write_plots(table: dict, out: Path) -> dict[str, Path]:
    """{title: png} for each metric against each axis with more than one value."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    axes = table["sweep"]["axes"]
    rows = _ok(table["rows"])
    plots = {}
    for metric in table["sweep"]["metrics"]:
        for axis in axes:
            if len(axis["values"]) < 2:
                continue
            others = [a for a in axes if a is not axis and len(a["values"]) > 1]
            series = next((a for a in others if not _numeric(a["values"])), others[0] if others else None)
            lines = series["values"] if series else [None]
            numeric = _numeric(axis["values"])
            xs = axis["values"] if numeric else list(range(len(axis["values"])))
            fig, ax = plt.subplots(figsize=(6, 4))
            for k, line in enumerate(lines):
                stats = [mean_ci([r.get(metric) for r in rows if r.get(axis["name"]) == v
                                  and (series is None or r.get(series["name"]) == line)]) for v in axis["values"]]
                pts = [(x, s["mean"], s["ci95"] or 0.0) for x, s in zip(xs, stats) if s["mean"] is not None]
                if not pts:
                    continue
                shift = 0 if numeric else (k - (len(lines) - 1) / 2) * 0.08
                ax.errorbar([p[0] + shift for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                            marker="o", capsize=3, label=f"{series['name']} = {line}" if series else None)
            if not numeric:
                ax.set_xticks(xs, [str(v) for v in axis["values"]])
            ax.set_xlabel(axis["name"])
            ax.set_ylabel(metric)
            pooled = [a["name"] for a in others if a is not series]
            ax.set_title(f"{metric} vs {axis['name']}", fontsize=10)
            note = "mean and 95 % CI over seeds" + (f", pooled over {', '.join(pooled)}" if pooled else "")
            fig.text(0.01, 0.01, note, fontsize=7, color="#555")
            if series:
                ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
            fig.tight_layout(rect=(0, 0.03, 1, 1))
            path = out / f"{_safe(metric)}_vs_{_safe(axis['name'])}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            plots[f"{metric} vs {axis['name']}"] = path
    return plots


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)


def _fmt(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    def g(x):       # rounding noise (1e-16 around a constant) is shown as 0
        return "0" if abs(x) <= 1e-12 * max(1.0, abs(s["mean"])) else f"{x:.3g}"
    text = f"{s['mean']:.4g}"
    if s["std"] is not None:
        text += f" ± {g(s['ci95'])} (sd {g(s['std'])})"
    return text


def summary_rows(table: dict, settings: list[dict]) -> tuple[list[str], list[list]]:
    axes = [a["name"] for a in table["sweep"]["axes"]]
    metrics = table["sweep"]["metrics"]
    header = [*axes, "runs ok", *metrics]
    rows = [[*(s["params"][a] for a in axes), f"{s['ok']}/{s['runs']}", *(_fmt(s["metrics"][m]) for m in metrics)]
            for s in settings]
    return header, rows


def write_html(table: dict, settings: list[dict], plots: dict, path: Path) -> Path:
    from html import escape
    from ..analysis.htmlreport import _img, _page, _table
    sw = table["sweep"]
    header, rows = summary_rows(table, settings)
    failed = [r for r in table["rows"] if r.get("status") != "ok"]
    body = [f"<p><b>sweep file</b> {escape(sw['file'])}<br><b>backend</b> {escape(sw['backend'])}, "
            f"<b>seeds</b> {escape(', '.join(map(str, sw['seeds'])))}, <b>runs</b> {len(table['rows'])} "
            f"({len(table['rows']) - len(failed)} ok)</p>",
            "<h2>Per setting</h2><p><small>mean ± half-width of the 95 % confidence interval of the mean "
            "(Student's t over seeds), and the sample standard deviation</small></p>", _table(header, rows)]
    if failed:
        body.append("<h2>Failed runs</h2>" + _table(["run", "attempts", "error"],
                                                   [[r["id"], r.get("attempts"), r.get("error")] for r in failed]))
    body.append("<h2>Plots</h2>" + "".join(_img(p, name) for name, p in plots.items()))
    path.write_text(_page(f"swarm-ros sweep: {sw['name']}", "\n".join(body)), encoding="utf-8")
    return path


def report(folder: Path) -> dict:
    """Statistics, plots and report.html into `folder`/report; returns what was computed."""
    import json
    table = read_table(folder)
    settings = per_setting(table)
    out = Path(folder) / "report"
    out.mkdir(exist_ok=True)
    (out / "stats.json").write_text(json.dumps({"level": LEVEL, "settings": settings}, indent=1))
    plots = write_plots(table, out)
    html = write_html(table, settings, plots, out / "report.html")
    return {"table": table, "settings": settings, "plots": plots, "html": html, "out": out}
