"""Gazebo (gz-sim) export: a mission's world and fleet as SDF 1.9, plus a ros_gz_bridge config.

The world file is self-contained (every drone's model inlined at its start pad, so it loads and
validates without a model path); each platform is also written as a model folder (model.sdf +
model.config) for use elsewhere. A drone model is a base link with the profile's mass and the
airframe's inertia (airframes.py), four rotor links on revolute joints, gz-sim's
MulticopterMotorModel per rotor (same kf, km, maximum rotor speed and rotor drag as the PyBullet
backend), MulticopterVelocityControl (takes the velocity setpoints our drone nodes publish) and
OdometryPublisher. Obstacles become static models; obstacles that appear during a mission are
exported present from the start (gz has no timed spawn in a world file).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .airframes import FOOT, Airframe
from .world import Box, World

SDF_VERSION = "1.9"
ROTOR_MASS_SHARE = 0.01    # each rotor link's share of the take-off mass (taken off the base link)


def _el(parent, tag: str, text=None, **attrib) -> ET.Element:
    e = ET.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = text if isinstance(text, str) else " ".join(f"{x:.9g}" for x in np.atleast_1d(text))
    return e


def _inertial(link, mass: float, diag) -> None:
    inertial = _el(link, "inertial")
    _el(inertial, "mass", f"{mass:.9g}")
    inertia = _el(inertial, "inertia")
    for name, value in zip(("ixx", "iyy", "izz"), diag):
        _el(inertia, name, f"{value:.9g}")
    for name in ("ixy", "ixz", "iyz"):
        _el(inertia, name, "0")


def _shape(link, kind: str, geometry: dict, pose=None, color=None) -> None:
    for tag in ("collision", "visual") if kind == "both" else (kind,):
        e = _el(link, tag, name=tag)
        if pose is not None:
            _el(e, "pose", pose)
        geom = _el(_el(e, "geometry"), geometry["type"])
        for key, value in geometry.items():
            if key != "type":
                _el(geom, key, value)
        if tag == "visual" and color is not None:
            mat = _el(e, "material")
            _el(mat, "ambient", color)
            _el(mat, "diffuse", color)


def drone_model(name: str, frame: Airframe, vehicle) -> ET.Element:
    """<model> of one drone: `name` is its model name (= its ROS namespace in the bridge); `frame`
    its platform's airframe."""
    mass = vehicle.mass
    rotor_mass = ROTOR_MASS_SHARE * mass
    model = ET.Element("model", name=name)
    base = _el(model, "link", name="base_link")
    _inertial(base, mass - 4 * rotor_mass, frame.inertia_at(mass - 4 * rotor_mass))
    _shape(base, "both", {"type": "cylinder", "radius": f"{vehicle.body_radius:.6g}", "length": f"{frame.height:.6g}"},
           pose=[0, 0, frame.height / 2 - FOOT, 0, 0, 0], color=[0.2, 0.2, 0.25, 1])
    r, t = frame.prop_radius, 0.005
    disc = [rotor_mass * (3 * r * r + t * t) / 12] * 2 + [rotor_mass * r * r / 2]
    for k, ((x, y), sign) in enumerate(zip(frame.rotor_xy(), frame.yaw_sign)):
        link = _el(model, "link", name=f"rotor_{k}")
        _el(link, "pose", [x, y, frame.height, 0, 0, 0])
        _inertial(link, rotor_mass, disc)
        _shape(link, "visual", {"type": "cylinder", "radius": f"{r:.6g}", "length": f"{t:.6g}"}, color=[0.8, 0.8, 0.8, 1])
        joint = _el(model, "joint", name=f"rotor_{k}_joint", type="revolute")
        _el(joint, "parent", "base_link")
        _el(joint, "child", f"rotor_{k}")
        axis = _el(joint, "axis")
        _el(axis, "xyz", "0 0 1")
        limit = _el(axis, "limit")
        _el(limit, "lower", "-1e16")
        _el(limit, "upper", "1e16")
    for k, sign in enumerate(frame.yaw_sign):
        plug = _el(model, "plugin", filename="gz-sim-multicopter-motor-model-system",
                   name="gz::sim::systems::MulticopterMotorModel")
        for tag, value in (("robotNamespace", name), ("jointName", f"rotor_{k}_joint"), ("linkName", f"rotor_{k}"),
                           ("turningDirection", "cw" if sign > 0 else "ccw"), ("timeConstantUp", "0.0125"),
                           ("timeConstantDown", "0.025"), ("maxRotVelocity", f"{frame.max_rotor_speed:.6g}"),
                           ("motorConstant", f"{frame.kf:.6g}"), ("momentConstant", f"{frame.km / frame.kf:.6g}"),
                           ("commandSubTopic", "command/motor_speed"), ("motorNumber", str(k)),
                           ("rotorDragCoefficient", f"{frame.drag_xy:.6g}"), ("rollingMomentCoefficient", "1e-06"),
                           ("motorSpeedPubTopic", f"motor_speed/{k}"), ("rotorVelocitySlowdownSim", "10"),
                           ("motorType", "velocity")):
            _el(plug, tag, value)
    velocity = _el(model, "plugin", filename="gz-sim-multicopter-control-system",
                   name="gz::sim::systems::MulticopterVelocityControl")
    tau = vehicle.response_time
    inertia = frame.inertia_at(mass)      # gz's gains are torques: inertia x our per-axis gains
    for tag, value in (("robotNamespace", name), ("commandSubTopic", "cmd_vel"), ("enableSubTopic", "enable"),
                       ("comLinkName", "base_link"), ("velocityGain", [1 / tau, 1 / tau, 1 / tau]),
                       ("attitudeGain", inertia * frame.k_att * frame.k_rate),
                       ("angularRateGain", inertia * frame.k_rate),
                       ("maximumLinearAcceleration", [vehicle.max_accel] * 3),
                       ("maximumLinearVelocity", [vehicle.max_speed, vehicle.max_speed, vehicle.max_climb]),
                       ("maximumAngularVelocity", [frame.max_rate] * 3)):
        _el(velocity, tag, value)
    rotors = _el(velocity, "rotorConfiguration")
    for k, sign in enumerate(frame.yaw_sign):
        rotor = _el(rotors, "rotor")
        _el(rotor, "jointName", f"rotor_{k}_joint")
        _el(rotor, "forceConstant", f"{frame.kf:.6g}")
        _el(rotor, "momentConstant", f"{frame.km / frame.kf:.6g}")
        _el(rotor, "direction", "-1" if sign > 0 else "1")
    odom = _el(model, "plugin", filename="gz-sim-odometry-publisher-system", name="gz::sim::systems::OdometryPublisher")
    _el(odom, "dimensions", "3")
    _el(odom, "odom_frame", "world")
    _el(odom, "robot_base_frame", f"{name}/base_link")
    return model


def _obstacle_model(o) -> ET.Element:
    model = ET.Element("model", name=o.name)
    _el(model, "static", "true")
    if isinstance(o, Box):
        _el(model, "pose", [*o.center, 0, 0, 0])
        geometry = {"type": "box", "size": list(o.size)}
    else:
        h = o.z_max - o.z_min
        _el(model, "pose", [*o.center, o.z_min + h / 2, 0, 0, 0])
        geometry = {"type": "cylinder", "radius": f"{o.radius:.9g}", "length": f"{h:.9g}"}
    link = _el(model, "link", name="link")
    _shape(link, "both", geometry, color=[0.6, 0.45, 0.3, 1])
    return model


def world_sdf(mission) -> ET.Element:
    """<sdf> with the mission's world: physics, ground, light, obstacles and every drone."""
    world: World = mission.world
    sdf = ET.Element("sdf", version=SDF_VERSION)
    w = _el(sdf, "world", name=mission.name)
    physics = _el(w, "physics", name="swarm", type="ignored")
    _el(physics, "max_step_size", f"{min(1.0 / mission.physics_rate, 0.004):.6g}")
    _el(physics, "real_time_factor", "1")
    for system in ("physics", "user-commands", "scene-broadcaster"):
        cls = "".join(part.title() for part in system.split("-"))
        _el(w, "plugin", filename=f"gz-sim-{system}-system", name=f"gz::sim::systems::{cls}")
    _el(w, "gravity", "0 0 -9.81")
    sun = _el(w, "light", type="directional", name="sun")
    _el(sun, "pose", "0 0 20 0 0 0")
    _el(sun, "direction", "-0.5 0.1 -0.9")
    ground = _el(w, "model", name="ground_plane")
    _el(ground, "static", "true")
    span = 2 * float(np.max(np.abs(np.concatenate([world.bounds_min, world.bounds_max])))) + 10
    _shape(_el(ground, "link", name="link"), "both", {"type": "plane", "normal": "0 0 1", "size": [span, span]},
           color=[0.5, 0.5, 0.5, 1])
    for o in world.ordered:
        w.append(_obstacle_model(o))
    for d in mission.fleet.drones:
        model = drone_model(d.name, d.airframe, d.vehicle)
        model.insert(0, _pose(d.start))
        w.append(model)
    return sdf


def _pose(start) -> ET.Element:
    e = ET.Element("pose")
    e.text = " ".join(f"{v:.9g}" for v in (start[0], start[1], start[2] + FOOT, 0, 0, 0))
    return e


def _write(root: ET.Element, path: Path) -> Path:
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return path


def export(mission, out: Path, bridge: list[dict]) -> dict[str, Path]:
    """Write <out>/<mission>.sdf, <out>/<mission>_bridge.yaml (the ros_gz_bridge entries `bridge`,
    from swarm_ros.gazebo_bridge) and <out>/models/<platform>/."""
    import yaml
    out = Path(out)
    files = {"world": _write(world_sdf(mission), out / f"{mission.name}.sdf")}
    path = out / f"{mission.name}_bridge.yaml"
    path.write_text(yaml.safe_dump(bridge, sort_keys=False))
    files["bridge"] = path
    for d in {d.platform: d for d in mission.fleet.drones}.values():
        folder = out / "models" / d.platform.replace(".", "_")
        sdf = ET.Element("sdf", version=SDF_VERSION)
        sdf.append(drone_model(folder.name, d.airframe, d.vehicle))
        files[f"model:{d.platform}"] = _write(sdf, folder / "model.sdf")
        config = ET.Element("model")
        _el(config, "name", folder.name)
        _el(config, "version", "1.0")
        _el(config, "sdf", "model.sdf", version=SDF_VERSION)
        _el(config, "description", f"{d.platform} exported by swarm_ros (profile of drone {d.name})")
        _write(config, folder / "model.config")
    return files
