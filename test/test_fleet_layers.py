"""Fleet layering: a drone's figures are its platform profile, overridden by the fleet `defaults`,
then its `types` entry, then its own `drones` entry (drone > type > defaults > profile); `role` and
`tags` layer the same way."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from swarm_ros.core.configfile import ConfigError
from swarm_ros.fleet import load_fleet
from swarm_ros.core.platforms import PLATFORMS, VehicleParams

REPO = Path(__file__).resolve().parent.parent
CF, X500 = PLATFORMS["crazyflie_2.1"], PLATFORMS["px4_x500"]
VEHICLE_FIELDS = [f.name for f in fields(VehicleParams)]


def write_fleet(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump({"name": "layers", **data}, sort_keys=False))
    return path


def starts(n: int) -> list[list[float]]:
    return [[2.0 * k, 0.0, 0.0] for k in range(n)]


@pytest.mark.parametrize("field", VEHICLE_FIELDS)
def test_vehicle_field_layers(tmp_path, field):
    """Each layer wins over the ones below it, and only for the drones it covers."""
    base = getattr(CF, field)
    d_val, t_val, own_val = base * 2, base * 3, base * 4      # all positive, all different
    s = starts(5)
    fleet = load_fleet(write_fleet(tmp_path, {
        "defaults": {field: d_val},
        "types": {"plain": {"platform": "crazyflie_2.1", "role": "r"},
                  "tuned": {"platform": "crazyflie_2.1", "role": "r", field: t_val}},
        "drones": {
            "from_defaults": {"type": "plain", "start": s[0]},
            "from_type": {"type": "tuned", "start": s[1]},
            "own_over_type": {"type": "tuned", "start": s[2], field: own_val},
            "own_over_defaults": {"type": "plain", "start": s[3], field: own_val},
        }}))
    got = {d.name: getattr(d.vehicle, field) for d in fleet.drones}
    assert got == {"from_defaults": d_val, "from_type": t_val, "own_over_type": own_val,
                   "own_over_defaults": own_val}
    # the other figures are untouched: still the profile's
    for d in fleet.drones:
        for other in VEHICLE_FIELDS:
            if other != field:
                assert getattr(d.vehicle, other) == getattr(CF, other), (d.name, other)


@pytest.mark.parametrize("field", VEHICLE_FIELDS)
def test_vehicle_field_without_overrides_is_the_profile(tmp_path, field):
    fleet = load_fleet(write_fleet(tmp_path, {
        "types": {"cf": {"platform": "crazyflie_2.1", "role": "r"}, "x": {"platform": "px4_x500", "role": "r"}},
        "drones": {"a": {"type": "cf", "start": [0, 0, 0]}, "b": {"type": "x", "start": [3, 0, 0]}}}))
    assert getattr(fleet.by_name("a").vehicle, field) == getattr(CF, field)
    assert getattr(fleet.by_name("b").vehicle, field) == getattr(X500, field)


def test_defaults_apply_across_platforms_and_type_overrides_only_its_own(tmp_path):
    fleet = load_fleet(write_fleet(tmp_path, {
        "defaults": {"radio_range": 30.0, "max_speed": 0.5},
        "types": {"cf": {"platform": "crazyflie_2.1", "role": "r"},
                  "x": {"platform": "px4_x500", "role": "r", "max_speed": 2.0}},
        "drones": {"a": {"type": "cf", "start": [0, 0, 0]}, "b": {"type": "x", "start": [3, 0, 0]}}}))
    a, b = fleet.by_name("a").vehicle, fleet.by_name("b").vehicle
    assert (a.radio_range, a.max_speed, a.mass) == (30.0, 0.5, CF.mass)
    assert (b.radio_range, b.max_speed, b.mass) == (30.0, 2.0, X500.mass)   # type > defaults, profile below


def test_role_layers(tmp_path):
    s = starts(4)
    fleet = load_fleet(write_fleet(tmp_path, {
        "defaults": {"role": "from_defaults"},
        "types": {"plain": {"platform": "crazyflie_2.1"},
                  "typed": {"platform": "crazyflie_2.1", "role": "from_type"}},
        "drones": {
            "a": {"type": "plain", "start": s[0]},
            "b": {"type": "typed", "start": s[1]},
            "c": {"type": "typed", "start": s[2], "role": "own"},
            "d": {"type": "plain", "start": s[3], "role": "own"},
        }}))
    assert {d.name: d.role for d in fleet.drones} == {"a": "from_defaults", "b": "from_type", "c": "own", "d": "own"}
    assert {d.name: d.role_field for d in fleet.drones} == {
        "a": "defaults.role", "b": "types.typed.role", "c": "drones.c.role", "d": "drones.d.role"}


def test_role_from_type_without_defaults_and_missing_everywhere(tmp_path):
    fleet = load_fleet(write_fleet(tmp_path, {
        "types": {"t": {"platform": "px4_x500", "role": "only_type"}},
        "drones": {"a": {"type": "t", "start": [0, 0, 0]}}}))
    assert fleet.by_name("a").role == "only_type"
    with pytest.raises(ConfigError) as info:
        load_fleet(write_fleet(tmp_path, {
            "types": {"t": {"platform": "px4_x500"}},
            "drones": {"a": {"type": "t", "start": [0, 0, 0]}}}))
    assert info.value.path == "drones.a.role" and "missing" in info.value.problem


def test_tags_layer_as_a_whole(tmp_path):
    fleet = load_fleet(write_fleet(tmp_path, {
        "defaults": {"tags": ["lab"]},
        "types": {"t": {"platform": "crazyflie_2.1", "role": "r", "tags": ["small"]},
                  "u": {"platform": "crazyflie_2.1", "role": "r"}},
        "drones": {"a": {"type": "t", "start": [0, 0, 0]}, "b": {"type": "u", "start": [2, 0, 0]},
                   "c": {"type": "t", "start": [4, 0, 0], "tags": ["lead"]}}}))
    assert {d.name: d.tags for d in fleet.drones} == {"a": ("small",), "b": ("lab",), "c": ("lead",)}


def test_a_bad_value_is_reported_in_the_layer_that_gave_it(tmp_path):
    for layer, data in [("defaults.max_speed", {"defaults": {"max_speed": -1}}),
                        ("types.t.max_speed", {"types": {"t": {"platform": "crazyflie_2.1", "role": "r",
                                                                "max_speed": -1}}}),
                        ("drones.a.max_speed", {"drones": {"a": {"type": "t", "start": [0, 0, 0], "max_speed": -1}}})]:
        fleet = {"types": {"t": {"platform": "crazyflie_2.1", "role": "r"}},
                 "drones": {"a": {"type": "t", "start": [0, 0, 0]}}, **data}
        with pytest.raises(ConfigError) as info:
            load_fleet(write_fleet(tmp_path, fleet))
        assert info.value.path == layer and "a number from 0.05 to 50 m/s" in info.value.allowed


def test_the_shipped_fleet_layers_as_documented():
    """config/fleets/mixed_lab.yaml: radio_range from defaults, x500 max_speed from its type, the rest profile."""
    fleet = load_fleet(REPO / "config" / "fleets" / "mixed_lab.yaml")
    cf, x = fleet.by_name("cf1"), fleet.by_name("x1")
    assert (cf.role, cf.vehicle.radio_range, cf.vehicle.max_speed) == ("inner_ring", 30.0, CF.max_speed)
    assert (x.role, x.vehicle.radio_range, x.vehicle.max_speed) == ("outer_ring", 30.0, 2.0)
    assert x.vehicle.body_radius == X500.body_radius and cf.vehicle.mass == CF.mass
