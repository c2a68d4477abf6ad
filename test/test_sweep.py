"""Sweep files and their errors, the table, and the statistics of `swarm-ros sweep report` (no Ray:
test_sweep_ray.py runs sweeps)."""
from __future__ import annotations

import json
import math
import textwrap

import pytest
from scipy import stats

from swarm_ros.cli import main
from swarm_ros.core.configfile import ConfigError
from swarm_ros.sweep.report import mean_ci, report
from swarm_ros.sweep.spec import load_sweep
from swarm_ros.sweep.table import write_table


def _write(tmp_path, text: str, name: str = "study.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """\
    name: study
    mission: first_flight
    axes:
      radio.loss: [0.0, 0.2]
      controller:
        formation: {}
        waypoint: {roles.inner_ring: {controller: waypoint, params: {waypoints: [[0, 1, 1.5]], relative: true}}}
    seeds: 3
    metrics: [collisions, radio.delivered]
"""


def test_a_sweep_file_gives_every_setting_and_seed(tmp_path):
    sweep = load_sweep(_write(tmp_path, GOOD))
    assert sweep.seeds == (0, 1, 2) and sweep.backend == "headless" and sweep.retries == 2
    tasks = sweep.tasks()
    assert len(tasks) == 2 * 2 * 3 and len({t["id"] for t in tasks}) == 12
    assert {(t["params"]["radio.loss"], t["params"]["controller"]) for t in tasks} == \
        {(0.0, "formation"), (0.0, "waypoint"), (0.2, "formation"), (0.2, "waypoint")}
    waypoint = next(t for t in tasks if t["params"] == {"radio.loss": 0.2, "controller": "waypoint"})
    assert waypoint["overrides"]["radio.loss"] == 0.2
    assert waypoint["overrides"]["roles.inner_ring"]["controller"] == "waypoint"
    # ids depend on the setting, not on its place in the grid: a grown sweep keeps its run folders
    grown = load_sweep(_write(tmp_path, GOOD.replace("[0.0, 0.2]", "[0.0, 0.1, 0.2]"), "grown.yaml"))
    assert {t["id"] for t in tasks} < {t["id"] for t in grown.tasks()}


BAD = [
    ("nme: x\n", "name", "missing"),
    ("name: s\nmission: nowhere_at_all\n", "mission", "not found"),
    ("name: s\nmission: first_flight\naxes: {radio..loss: [1]}\n", "axes.radio..loss", "dotted path"),
    ("name: s\nmission: first_flight\naxes: {radio.loss: []}\n", "axes.radio.loss", "at least one"),
    ("name: s\nmission: first_flight\naxes: {radio.loss: 0.1}\n", "axes.radio.loss", "a list of values"),
    ("name: s\nmission: first_flight\naxes: {seed: [1, 2]}\n", "axes.seed", "seeds"),
    ("name: s\nmission: first_flight\naxes: {fleet.size: [0, 3]}\n", "axes.fleet.size", "drone counts"),
    ("name: s\nmission: first_flight\nseeds: [1, 1]\n", "seeds", "no repeats"),
    ("name: s\nmission: first_flight\naxes: {big: {huge: {fleet.size: lots}}}\n", "axes.big.huge.fleet.size",
     "an integer >= 1"),
    ("name: s\nmission: first_flight\nbackend: gazebo\n", "backend", "headless, ros"),
    ("name: s\nmission: first_flight\nmetrics: [analysis.coverage.fraction]\n", "metrics[0]", "backend: ros"),
    ("name: s\nmission: first_flight\nretries: -1\n", "retries", ">= 0"),
    ("name: s\nmission: first_flight\naxs: {}\n", "axs", "unknown key"),
]


@pytest.mark.parametrize("text,field,allowed", BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_sweep_files_give_one_line_errors(tmp_path, capsys, text, field, allowed):
    path = _write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {path}: {field}:") and allowed in err, err
    assert not out.exists()


def test_an_axis_value_the_mission_refuses_is_reported_before_anything_runs(tmp_path, capsys):
    path = _write(tmp_path, "name: s\nmission: first_flight\naxes:\n  radio.loss: [0.1, 1.5]\n  radio.rnage: [3]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}: axes: setting radio.loss=0.1, "), err
    assert "radio.rnage" in err and "unknown key" in err
    path.write_text("name: s\nmission: first_flight\naxes:\n  radio.loss: [0.1, 1.5]\n")
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "setting radio.loss=1.5" in err and "radio.loss" in err and "< 1" in err, err
    assert not out.exists()


def test_a_generated_fleet_has_the_size_and_role_mix_asked_for(tmp_path):
    from swarm_ros.mission import load_mission
    from swarm_ros.sweep.overrides import materialize
    sweep = load_sweep(_write(tmp_path, "name: s\nmission: first_flight\naxes: {fleet.size: [3, 9]}\n"
                                        "fleet_spacing: 1.5\n"))
    sizes = {}
    for k, setting in enumerate(sweep.settings()):
        mission = load_mission(materialize(sweep, setting, 4, tmp_path / str(k)))
        roles = [d.role for d in mission.fleet.drones]
        sizes[len(roles)] = roles
        assert mission.seed == 4
    # mixed_lab is cf1-cf4 (inner_ring) then x1, x2 (outer_ring): drone k copies drone k mod 6
    assert sizes[3] == ["inner_ring"] * 3
    assert sizes[9] == ["inner_ring"] * 4 + ["outer_ring"] * 2 + ["inner_ring"] * 3


def test_mean_and_confidence_interval_match_scipy():
    xs = [0.91, 0.95, 0.88, 0.97, 0.93]
    s = mean_ci(xs)
    lo, hi = stats.t.interval(0.95, len(xs) - 1, loc=sum(xs) / 5, scale=stats.sem(xs))
    assert s["n"] == 5 and math.isclose(s["mean"], sum(xs) / 5)
    assert math.isclose(s["ci95"], (hi - lo) / 2) and math.isclose(s["std"], stats.tstd(xs))
    assert mean_ci([2.0]) == {"n": 1, "mean": 2.0, "std": None, "ci95": None}
    assert mean_ci([None])["n"] == 0


def test_report_gives_statistics_plots_and_a_page_per_setting(tmp_path, capsys):
    sweep = load_sweep(_write(tmp_path, GOOD))
    rows = []
    for t in sweep.tasks():
        loss, ctrl = t["params"]["radio.loss"], t["params"]["controller"]
        failed = t["seed"] == 2 and ctrl == "waypoint" and loss == 0.2
        rows.append({"id": t["id"], "setting": t["setting"], **t["params"], "seed": t["seed"],
                     "status": "failed" if failed else "ok", "attempts": 3 if failed else 1,
                     **({"error": "worker died"} if failed else
                        {"collisions": t["seed"] % 2, "radio.delivered": 1000 * (1 - loss) + t["seed"]})})
    out = tmp_path / "sweep"
    out.mkdir()
    write_table(out, sweep, rows)
    assert main(["sweep", "report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2/3" in printed and "3/3" in printed
    done = report(out)
    settings = {(s["params"]["radio.loss"], s["params"]["controller"]): s for s in done["settings"]}
    d = settings[(0.2, "waypoint")]["metrics"]["radio.delivered"]
    assert d["n"] == 2 and math.isclose(d["mean"], 800.5)
    d = settings[(0.0, "formation")]["metrics"]["radio.delivered"]
    assert d["n"] == 3 and math.isclose(d["mean"], 1001) and math.isclose(d["std"], 1.0)
    assert sorted(p.name for p in done["plots"].values()) == [
        "collisions_vs_controller.png", "collisions_vs_radio_loss.png",
        "radio_delivered_vs_controller.png", "radio_delivered_vs_radio_loss.png"]
    for p in done["plots"].values():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = done["html"].read_text()
    assert "Failed runs" in html and "worker died" in html and html.count("<img") == 4
    assert json.loads((out / "report" / "stats.json").read_text())["level"] == 0.95


def test_report_of_a_folder_without_results_is_a_one_line_error(tmp_path, capsys):
    assert main(["sweep", "report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "results.json" in err


def test_a_bad_config_error_object_stays_one_line():
    assert "\n" not in str(ConfigError("a\nb.yaml", "axes", "x"))
