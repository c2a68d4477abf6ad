"""Target selectors decide which drones install a patch; the same text must mean the same set."""
import pytest

from firmware_update.selector import DroneIdentity, SelectorError, TargetSelector
from swarm_ros.fleet import load_fleet
from swarm_ros.core.resources import share_dir

FLEET = load_fleet(share_dir() / "config" / "fleets" / "camera_team.yaml")


def names(text):
    return [d.name for d in TargetSelector.parse(text).select(FLEET.drones)]


def test_type_matches_fleet_type_or_platform():
    assert names("type=x500") == ["x1", "x2"]
    assert names("type=px4_x500") == ["x1", "x2"]
    assert names("platform=crazyflie_2.1") == [f"cf{i}" for i in range(1, 7)]


def test_keys_and_values_or():
    assert names("type=cf,role=mapper") == []
    assert names("role=scout|mapper") == [d.name for d in FLEET.drones]
    assert names("name=cf2|x1") == ["cf2", "x1"]
    assert names("*") == names("") == [d.name for d in FLEET.drones]


def test_tags():
    d = DroneIdentity("a", "cf", "crazyflie_2.1", "scout", ("camera", "lab"))
    assert TargetSelector.parse("tag=camera").matches(d)
    assert not TargetSelector.parse("tag=lidar").matches(d)


def test_canonical_text_round_trips():
    s = TargetSelector.parse(" role=mapper|scout , type=cf ")
    assert s.text() == "role=mapper|scout,type=cf"
    assert TargetSelector.parse(s.text()) == s
    assert TargetSelector.parse("*").text() == "*"


@pytest.mark.parametrize("text,needle", [
    ("colour=red", "KEY one of"),
    ("role", "KEY=VALUE"),
    ("role=a b", "not allowed"),
    ("role=a,role=b", "given twice"),
    ("type=", "not allowed"),
])
def test_bad_selectors_name_the_part(text, needle):
    with pytest.raises(SelectorError, match=needle):
        TargetSelector.parse(text)
