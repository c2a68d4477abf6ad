"""The `updates` section's state folder: relative to the mission file, never to the working directory."""
from __future__ import annotations

import yaml

from conftest import REPO
from patch_helpers import keypair
from swarm_ros.mission import load_mission


def _mission(folder, **updates):
    folder.mkdir(parents=True, exist_ok=True)
    keypair(folder, "ops")
    m = yaml.safe_load((REPO / "config" / "missions" / "rings.yaml").read_text())
    m.update(fleet=str(REPO / "config" / "fleets" / "mixed_lab.yaml"),
             world=str(REPO / "sim" / "worlds" / "pillar_field.yaml"), updates={"keys": ["ops.pub"], **updates})
    path = folder / "m.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


def test_a_relative_state_folder_is_relative_to_the_mission_file(tmp_path, monkeypatch):
    path = _mission(tmp_path / "ops" / "missions")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_mission(path).updates.state == tmp_path / "ops" / "missions" / "runs" / "updates"
    assert load_mission("../ops/missions/m.yaml").updates.state == tmp_path / "ops" / "missions" / "runs" / "updates"
    path = _mission(tmp_path / "ops" / "missions", state="../drone_state")
    assert load_mission(path).updates.state == tmp_path / "ops" / "drone_state"


def test_an_absolute_state_folder_is_kept(tmp_path):
    target = tmp_path / "abs" / "state"
    assert load_mission(_mission(tmp_path / "m", state=str(target))).updates.state == target
