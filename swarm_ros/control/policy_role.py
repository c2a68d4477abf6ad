"""`controller: policy` in mission files: a trained MLP policy file (control/mlp.py) flies each drone
of the role to its goal, under the shared safety layer.

    roles:
      reach:
        controller: policy
        params: {policy: reach_k2.safetensors, goal: [0, 3, 0.5], relative: true, k: 2}

`policy` is a path relative to the mission file, or a name in config/policies. `goal` is a
point, or with `relative: true` an offset from each drone's start (so each drone of the role
has its own goal). `k`, when given, must be the neighbour count the policy was trained with.
The policy alone does not guarantee separation: with `avoid: true` (the default) its velocity
setpoints pass through the same reactive safety layer as the waypoint controller's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from swarm_ros.core.configfile import Bool, Number, Section, Vector, resolve_file
from swarm_ros.core.resources import share_dir
from .contract import Observations
from ..core.mlp import MLP, PolicyFileError, load_mlp
from swarm_ros.core.observation import obs_size
from .policy import PolicyController
from .safety import SafetyParams, safe_velocity

POLICY_DIR = ("config", "policies")


@dataclass(frozen=True)
class PolicyParams:
    mlp: MLP
    file: str
    goal: tuple
    relative: bool = False
    avoid: bool = True
    safety: SafetyParams = field(default_factory=SafetyParams)

    @classmethod
    def read(cls, sec: Section) -> "PolicyParams":
        allowed = "a safetensors MLP policy file (swarm-ros policy train writes one)"
        path = resolve_file(sec, "policy", "policy file", [share_dir().joinpath(*POLICY_DIR)], ".safetensors")
        try:
            mlp = load_mlp(path)
        except PolicyFileError as err:
            raise sec.error("policy", f"{Path(path).name}: {err}", allowed) from None
        k = sec.get("k", Number(0, 64, integer=True), mlp.k)
        if k != mlp.k:
            raise sec.error("k", f"got {k}: {Path(path).name} takes observations of {obs_size(mlp.k)} numbers "
                            f"(6 + 6k)", f"k: {mlp.k} (what the policy was trained with), or no k")
        out = cls(mlp, str(path), sec.get("goal", Vector(3)), sec.get("relative", Bool(), False),
                  sec.get("avoid", Bool(), True), SafetyParams.read(sec.section("safety", required=False)))
        sec.finish()
        return out

    def targets(self, home: np.ndarray) -> np.ndarray:
        """Each drone's goal (N, 3)."""
        return np.array(self.goal, float)[None] + (np.asarray(home, float) if self.relative else 0.0)


class PolicyRoleController(PolicyController):
    """PolicyController with its goals and policy from a mission role, plus the safety layer."""
    Params = PolicyParams

    @classmethod
    def bind(cls, params: PolicyParams, role) -> PolicyParams:
        """Each drone's goal inside the geofence, clear of obstacles by its body radius."""
        world = role.world
        for d in role.drones:
            goal = params.targets(np.array([d.start], float))
            if not world.inside_fence(goal)[0] or world.clearance(goal)[0] < d.vehicle.body_radius:
                raise role.top.error(f"{role.params_field}.goal", f"{goal[0].tolist()} for drone {d.name!r} is "
                                     f"outside the geofence or in an obstacle", f"a goal within "
                                     f"{world.bounds_min.tolist()} .. {world.bounds_max.tolist()}, at least the "
                                     "body radius from every obstacle")
        return params

    def __init__(self, params: PolicyParams, vehicles, home, group: int = 0):
        home = np.asarray(home, float).reshape(len(vehicles), 3)
        super().__init__(params.mlp, params.targets(home), params.mlp.k, vehicles, home, group,
                         params.mlp.sensing)
        self.params = params

    def step_batch(self, obs: Observations) -> np.ndarray:
        v = super().step_batch(obs)
        if self.params.avoid:
            v = safe_velocity(obs, v, self.radius, self.max_speed, self.params.safety)
        return v
