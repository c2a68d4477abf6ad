"""Loading is bounded: an alias bomb, deep nesting, an over-long file name, a grid finer than the
world can afford and a world with an absurd number of obstacles each end in one ConfigError line
before anything large is built (no MemoryError, RecursionError or OSError)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from swarm_ros.core.configfile import ConfigError, load_yaml
from swarm_ros.mission import load_mission

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "test" / "config_errors" / "valid_mission.yaml"
SURVEILLANCE = REPO / "config" / "missions" / "surveillance.yaml"


def _one_line(err: ConfigError) -> str:
    msg = str(err)
    assert "\n" not in msg and "; allowed: " in msg, msg
    return msg


def _mission(tmp_path, text: str, name: str = "m.yaml") -> Path:
    """A mission beside the corpus baseline's relative paths (its fleet and world resolve)."""
    folder = tmp_path / "config_errors"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text.replace("../../", f"{REPO}/"))
    return path


def _bomb(levels: int = 9) -> str:
    """About 600 bytes that expand to 9^levels scalars."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_fails_fast_in_one_line(tmp_path):
    bomb = _bomb()
    assert len(bomb) < 700
    text = BASE.read_text().replace("duration: 30", f"duration: *l{8}")
    path = _mission(tmp_path, "bombs:\n" + "".join("  " + ln + "\n" for ln in bomb.splitlines()) + text)
    with pytest.raises(ConfigError) as info:
        load_mission(path)
    assert "aliases expand to more than" in _one_line(info.value) and str(path) in str(info.value)


def test_modest_aliases_still_load(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2, 3]}\nuse: [*b, *b, *b]\nmerged: {<<: *b, x: 2}\n")
    data = load_yaml(path).data
    assert data["use"] == [data["base"]] * 3 and data["merged"] == {"x": 2, "y": [1, 2, 3]}


@pytest.mark.parametrize("text", ["a: " + "[" * 1000 + "]" * 1000, "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 1000)),
                                  "a: " + "{b: " * 1000 + "1" + "}" * 1000])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert "nested more than" in _one_line(info.value)


@pytest.mark.parametrize("key", ["fleet", "world"])
def test_an_over_long_file_name_is_one_line_not_an_os_error(tmp_path, key):
    text = BASE.read_text()
    text = re.sub(rf"^{key}: .*$", f"{key}: {'f' * 300}.yaml", text, flags=re.M)
    with pytest.raises(ConfigError) as info:
        load_mission(_mission(tmp_path, text))
    assert f"{key}: " in str(info.value) and "name too long" in _one_line(info.value)


def test_an_over_long_mission_name_is_one_line(tmp_path):
    from swarm_ros.core.resources import find_mission
    with pytest.raises(ConfigError) as info:
        load_mission(find_mission("m" * 300))
    assert "name too long" in _one_line(info.value)


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: [" + "1, " * 2_000_000 + "1]\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert "bytes" in _one_line(info.value)


def test_a_grid_finer_than_the_world_affords_is_refused(tmp_path):
    text = SURVEILLANCE.read_text().replace("resolution: 1.0", "resolution: 0.001")
    text = re.sub(r"^fleet: .*$", f"fleet: {REPO}/config/fleets/camera_team.yaml", text, flags=re.M)
    text = re.sub(r"^world: .*$", f"world: {REPO}/sim/worlds/hill_country.yaml", text, flags=re.M)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_mission(path)
    msg = _one_line(info.value)
    assert msg.startswith(f"{path}: objective.params.resolution: got 0.001") and "grid cells" in msg


def test_a_world_with_absurdly_many_obstacles_is_refused(tmp_path):
    world = tmp_path / "w.yaml"
    items = [{"type": "cylinder", "center": [float(i % 400), float(i // 400)], "radius": 0.1, "height": 1.0}
             for i in range(20_000)]
    world.write_text(yaml.safe_dump({"name": "many", "bounds": {"min": [-1, -1, 0], "max": [500, 500, 10]},
                                     "obstacles": items}, default_flow_style=True, width=10 ** 9))
    from sim.world import load_world
    with pytest.raises(ConfigError) as info:
        load_world(world)
    assert "obstacles: 20000 obstacles" in _one_line(info.value)
