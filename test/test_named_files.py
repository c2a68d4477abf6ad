"""Installed files by bare name: `fleet: mixed_lab`, `world: pillar_field`, `policy: reach_k2` in a
mission file and `swarm-ros policy show reach_k2` find the shipped files; a name found nowhere is
one error line that lists the installed names."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from swarm_ros.cli import main
from swarm_ros.core.configfile import ConfigError
from swarm_ros.core.resources import find_mission, find_policy, share_dir
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent


def mission_with(tmp_path: Path, **fields: str) -> Path:
    """config/missions/first_flight.yaml moved elsewhere, with some top-level fields replaced."""
    lines = (REPO / "config" / "missions" / "first_flight.yaml").read_text().splitlines()
    for key, value in fields.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    path = tmp_path / "m.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bare_fleet_and_world_names_find_the_installed_files(tmp_path):
    named = load_mission(mission_with(tmp_path, fleet="mixed_lab", world="pillar_field"))
    shipped = load_mission(REPO / "config" / "missions" / "first_flight.yaml")
    assert [d.name for d in named.fleet.drones] == [d.name for d in shipped.fleet.drones]
    assert named.world.name == shipped.world.name and named.world.n_obstacles == shipped.world.n_obstacles > 0
    # the name with its extension still works, and a file beside the mission comes first
    assert load_mission(mission_with(tmp_path, fleet="mixed_lab.yaml")).fleet.drones
    (tmp_path / "pillar_field.yaml").write_text("this: is not a world\n")
    with pytest.raises(ConfigError) as info:
        load_mission(mission_with(tmp_path, world="pillar_field"))
    assert Path(info.value.file).name == "pillar_field.yaml"


@pytest.mark.parametrize("key, installed", [("fleet", share_dir() / "config" / "fleets"),
                                            ("world", share_dir() / "sim" / "worlds")])
def test_unknown_name_lists_the_installed_choices(tmp_path, key, installed):
    with pytest.raises(ConfigError) as info:
        load_mission(mission_with(tmp_path, **{key: "no_such_thing"}))
    err, msg = info.value, str(info.value)
    assert "\n" not in msg and err.path == key and "'no_such_thing' not found" in err.problem
    names = sorted(p.stem for p in installed.glob("*.yaml"))
    assert len(names) >= 3 and err.allowed.endswith("or an installed name: " + ", ".join(names)), msg


def test_policy_by_bare_name_in_a_mission(tmp_path):
    text = (REPO / "config" / "missions" / "policy_reach.yaml").read_text()
    text = text.replace("../fleets/reach_team.yaml", "reach_team").replace("../../sim/worlds/open_hall.yaml", "open_hall")
    (tmp_path / "p.yaml").write_text(text.replace("reach_k2.safetensors", "reach_k2"))
    m = load_mission(tmp_path / "p.yaml")
    assert Path(m.roles["northbound"].params.file).name == "reach_k2.safetensors"
    (tmp_path / "q.yaml").write_text(text.replace("reach_k2.safetensors", "reach_k3"))
    with pytest.raises(ConfigError) as info:
        load_mission(tmp_path / "q.yaml")
    assert info.value.path.endswith("params.policy") and "installed name: reach_k2" in info.value.allowed


def test_policy_show_by_name(capsys):
    for name in ("reach_k2", "reach_k2.safetensors"):
        assert main(["policy", "show", name]) == 0
        out = capsys.readouterr().out
        assert "reach_k2.safetensors: layers" in out and "k = 2" in out


def test_finders_keep_paths_and_name_the_choices():
    assert find_policy("reach_k2") == share_dir() / "config" / "policies" / "reach_k2.safetensors"
    assert find_mission("rings") == find_mission("rings.yaml") == share_dir() / "config" / "missions" / "rings.yaml"
    # a missing path is left to its reader, which says "not found" for that path
    assert find_mission("some/dir/gone.yaml") == Path("some/dir/gone.yaml")
    with pytest.raises(ConfigError) as info:
        find_mission("ringz")
    assert "an installed name: " in str(info.value) and "rings" in info.value.allowed.split(": ")[-1].split(", ")


def test_cli_unknown_policy_name_is_one_line_with_choices():
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "policy", "show", "reach_k9"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1 and "policy file not found" in out.stderr
    assert out.stderr.rstrip().endswith("or an installed name: reach_k2"), out.stderr
