"""Broken config files give one clear line: `<file>: <field.path>: <problem>; allowed: <what is allowed>`.

The corpus is test/config_errors/: each `mission_*.yaml` there is loaded, and cases.yaml says which
file the message must name (the mission, or the fleet/world file that is actually broken), which
field path and a fragment of the allowed text. The valid_*.yaml files are the baselines the
broken files were made from; they must load, so each case fails for its one planted reason.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from swarm_ros.core.configfile import ConfigError
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "config_errors"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())["cases"]
BY_ID = {c["id"]: c for c in CASES}


def check_message(err: ConfigError, case: dict) -> str:
    msg = str(err)
    assert "\n" not in msg and "\r" not in msg, f"message is not one line: {msg!r}"
    # names the right file, then the field path, right at the start of the line
    assert Path(err.file).name == case["names"], msg
    assert msg.startswith(f"{err.file}: {case['field']}: "), f"expected field {case['field']!r} in: {msg}"
    problem, sep, allowed = msg[len(f"{err.file}: {case['field']}: "):].rpartition("; allowed: ")
    assert sep, f"no '; allowed: ' part in: {msg}"
    assert case["allowed"] in allowed, f"expected {case['allowed']!r} in the allowed part of: {msg}"
    if "problem" in case:
        assert case["problem"] in problem, f"expected {case['problem']!r} in the problem part of: {msg}"
    return msg


def test_corpus_is_complete():
    assert len(CASES) >= 25 and len(BY_ID) == len(CASES), "case ids must be unique"
    missions = {p.name for p in CORPUS.glob("mission_*.yaml")}
    assert missions == {c["mission"] for c in CASES}, "every broken mission has exactly one entry in cases.yaml"
    broken = {p.name for p in CORPUS.glob("*.yaml")} - {"cases.yaml"} - {p.name for p in CORPUS.glob("valid_*")}
    named = {c["mission"] for c in CASES} | {c["names"] for c in CASES}
    assert broken <= named, f"corpus files no case uses: {sorted(broken - named)}"


@pytest.mark.parametrize("mission", ["valid_mission.yaml", "valid_mission_own_files.yaml"])
def test_baselines_load(mission):
    m = load_mission(CORPUS / mission)
    assert m.name == "broken" and len(m.fleet.drones) >= 3 and set(m.roles) == {"inner_ring", "outer_ring"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_broken_file_gives_one_clear_line(case):
    with pytest.raises(ConfigError) as info:
        load_mission(CORPUS / case["mission"])
    check_message(info.value, case)


def test_role_error_names_the_layer_that_set_the_role():
    """A role set by a type or the defaults is reported there, not at a drones.* key that is not in the file."""
    for cid, field in [("fleet_role_undefined", "drones.cf1.role"), ("fleet_type_role_undefined", "types.cf.role"),
                       ("fleet_default_role_undefined", "defaults.role")]:
        with pytest.raises(ConfigError) as info:
            load_mission(CORPUS / BY_ID[cid]["mission"])
        assert info.value.path == field
        assert "drone 'cf1'" in info.value.problem


def test_obstacles_left_empty_means_none(tmp_path):
    """`obstacles:` with nothing after it is allowed (no obstacles); `obstacles: {}` is the error case."""
    world = (CORPUS / "valid_world.yaml").read_text().split("obstacles:")[0] + "obstacles:\n"
    (tmp_path / "w.yaml").write_text(world)
    mission = (CORPUS / "valid_mission.yaml").read_text()
    mission = mission.replace("../../sim/worlds/pillar_field.yaml", "w.yaml")
    mission = mission.replace("../../config/fleets/", str(REPO / "config" / "fleets") + "/")
    (tmp_path / "m.yaml").write_text(mission)
    assert load_mission(tmp_path / "m.yaml").world.n_obstacles == 0


def test_yaml_merge_keys_may_still_override():
    """The duplicate-key check must not reject a key that overrides one brought in by `<<`."""
    from swarm_ros.core.configfile import _StrictLoader
    data = yaml.load("a: &x {k: 1, j: 2}\nb: {<<: *x, k: 3}\n", Loader=_StrictLoader)
    assert data["b"] == {"k": 3, "j": 2}


# --- the command line: one `error:` line on stderr, exit code 2, no traceback --------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


CLI_CASES = ["unknown_radio_key", "missing_world", "bad_yaml", "not_a_mapping", "huge_integer",
             "key_with_newline", "fleet_type_role_undefined", "fleet_duplicate_drone", "world_duplicate_obstacle",
             "policy_wrong_k"]


@pytest.mark.parametrize("cid", CLI_CASES)
def test_cli_check_prints_one_error_line(cid):
    case = BY_ID[cid]
    out = run_cli("check", str(CORPUS / case["mission"]))
    assert "Traceback" not in out.stdout + out.stderr
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and out.stderr.endswith("\n"), f"stderr is not one line: {out.stderr!r}"
    assert lines[0].startswith("error: ")
    line = lines[0][len("error: "):]
    assert case["names"] in line and f": {case['field']}: " in line and case["allowed"] in line, line


def test_cli_launch_rejects_a_broken_mission_the_same_way():
    case = BY_ID["fleet_starts_overlap"]
    out = run_cli("launch", "--no-record", str(CORPUS / case["mission"]))
    assert "Traceback" not in out.stdout + out.stderr
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and case["names"] in lines[0], out.stderr


@pytest.mark.parametrize("value, allowed", [("7", "allowed: 1 to 6"), ("0", "whole number >= 1")])
def test_cli_launch_refuses_a_bad_drone_process_count_with_one_line(value, allowed):
    out = run_cli("launch", "--no-record", "rings", "--drone-processes", value)
    assert "Traceback" not in out.stdout + out.stderr
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert "--drone-processes" in lines[-1] and allowed in lines[-1], out.stderr
    assert len(lines) == 1 or lines[0].startswith("usage:"), out.stderr     # argparse adds its usage line


def test_cli_check_missing_mission_file():
    out = run_cli("check", "test/config_errors/no_such_mission.yaml")
    assert "Traceback" not in out.stdout + out.stderr
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "error: test/config_errors/no_such_mission.yaml: <top level>: mission file not found; "
        "allowed: an existing YAML file"]


def test_cli_check_accepts_the_default_mission():
    out = run_cli("check", "config/missions/rings.yaml")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert "is valid" in out.stdout and "error" not in out.stderr
