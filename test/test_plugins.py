"""Plugins: controllers and CAO objectives by entry-point name or `module:Class`, the built-ins
registered like any other package's, and what a mission service declares reaching the stack."""
from __future__ import annotations

import pytest

from conftest import REPO
from swarm_ros import topics
from swarm_ros.core import plugins
from swarm_ros.control.cao_controller import CAOController
from swarm_ros.control.cao_objectives import Surveillance
from swarm_ros.control.formation import FormationController
from swarm_ros.launching import node_specs
from swarm_ros.mission import load_mission

CORPUS = REPO / "test" / "config_errors"


def mission_copy(tmp_path, name: str, old: str, new: str):
    text = (CORPUS / name).read_text().replace("../../", f"{REPO}/")
    assert old in text
    (tmp_path / name).write_text(text.replace(old, new))
    return load_mission(tmp_path / name)


def test_builtins_are_registered_entry_points():
    assert list(plugins.installed(plugins.CONTROLLERS))[:6] == ["cao", "fisc", "formation", "planned", "policy",
                                                                "waypoint"]
    assert plugins.installed(plugins.CONTROLLERS)["formation"].load() is FormationController


def test_a_controller_by_module_path_is_the_same_as_by_name(tmp_path):
    path = "swarm_ros.control.formation:FormationController"
    m = mission_copy(tmp_path, "valid_mission.yaml", "inner_ring: {controller: formation",
                     f"inner_ring: {{controller: '{path}'")
    by_name = load_mission(CORPUS / "valid_mission.yaml")
    assert m.roles["inner_ring"].cls is FormationController and m.roles["inner_ring"].controller == path
    assert m.roles["inner_ring"].params == by_name.roles["inner_ring"].params


def test_a_cao_objective_by_module_path(tmp_path):
    m = mission_copy(tmp_path, "valid_cao_mission.yaml", "kind: surveillance",
                     "kind: swarm_ros.control.cao_objectives:Surveillance")
    use = m.services["objective"]
    assert use.kind is CAOController.service and use.config.objective is Surveillance
    assert set(use.drones.values()) == {"scout", "mapper"}


def test_a_service_declares_its_node_topics_and_record_kind():
    m = load_mission(CORPUS / "valid_cao_mission.yaml")
    service = m.services["objective"].kind
    (spec,) = [s for s in node_specs(m) if s.name == service.name]
    assert (spec.executable, spec.module, spec.parameters) == ("objective", "swarm_ros.nodes.objective",
                                                               {"mission_file": m.file})
    assert service.record in m.record.topics
    assert topics.TYPES[service.request_topic] == "swarm_ros_interfaces/msg/CaoReport"
    assert topics.KEPT[service.monitor] > 0


def test_a_topic_declared_twice_with_another_type_is_refused():
    with pytest.raises(ValueError, match="declared as swarm_ros_interfaces/msg/SwarmStatus already"):
        topics.declare({topics.STATUS: "std_msgs/msg/Int64"})
