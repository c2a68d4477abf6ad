"""The cost evaluator of a CAO mission: drones' reports in, J and each drone's Delta_i out.

It is the one shared piece of the method: the only place that can evaluate the team cost
and the what-if costs. It runs as its own node (and can be replicated: it keeps no state but
the objective's and the last decisions, all rebuilt from reports). Membership is plug-n-play:
iteration k is evaluated over the drones that reported k. A drone that stops reporting
simply drops out; a drone reporting for the first time joins with Delta_i = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swarm_ros.core import plugins
from swarm_ros.core.configfile import Number, Section, show
from .cao_objectives import MissionObjective

POSITIVE = Number(0, lo_open=True)
OBJECTIVES = "swarm_ros.objectives"   # entry-point group of the objectives (cao_objectives.MissionObjective)


@dataclass(frozen=True)
class ObjectiveSpec:
    """The mission's `objective` section."""
    kind: str
    period: float                 # s of mission time per CAO iteration
    report_timeout: float         # s (wall clock) to wait for missing reports before evaluating
    params: object
    changes: tuple = ()           # ((mission time, params), ...) for time-varying objectives
    start: float = 0.0            # mission time of iteration 0 (the task phase's start)
    objective: type = None        # the MissionObjective class `kind` names

    @classmethod
    def read(cls, sec: Section, roles: list[str], start: float = 0.0) -> "ObjectiveSpec":
        kind, objective = plugins.read(sec, "kind", OBJECTIVES, MissionObjective, "CAO objective")
        params_cls = objective.Params
        raw = sec.data.get("params") or {}
        params = params_cls.read(sec.section("params"), roles)
        period = sec.get("period", POSITIVE, 1.0)
        timeout = sec.get("report_timeout", POSITIVE, 0.5)
        changes = []
        sec.used.add("changes")
        items = sec.data.get("changes") or []
        if not isinstance(items, list):
            raise sec.error("changes", f"got {show(items)}", "a list of {at: mission time, params: {...}}")
        for k, item in enumerate(items):
            csec = Section(sec.file, f"{sec.sub('changes')}[{k}]", item)
            at = csec.get("at", Number(0))
            over = csec.section("params")            # overrides of the base params
            over.used |= set(over.data)
            changes.append((at, params_cls.read(Section(sec.file, over.path, dict(raw, **over.data)), roles)))
            csec.finish()
        if [c[0] for c in changes] != sorted(c[0] for c in changes):
            raise sec.error("changes", "times out of order", "changes sorted by `at`")
        sec.finish()
        return cls(kind, period, timeout, params, tuple(changes), start, objective)

    def iteration_time(self, k):
        """Mission time at which drones report iteration k: one period into the task phase
        for k = 0 (time to reach the first decision), then every period."""
        return self.start + (np.asarray(k) + 1) * self.period

    def next_iteration(self, t: float) -> int:
        """The first iteration reported at or after mission time t (a drone starting late)."""
        return max(0, int(np.ceil((t - self.start) / self.period - 1 - 1e-9)))

    def build(self, world):
        return self.objective(self.params, world)


class CAOEvaluator:
    """Evaluates iterations from reports. `roles` maps each CAO drone's fleet index to its role."""

    def __init__(self, spec: ObjectiveSpec, world, roles: dict[int, str]):
        self.spec, self.roles = spec, dict(roles)
        self.objective = spec.build(world)
        self.pending: dict[int, dict[int, np.ndarray]] = {}
        self.first_seen: dict[int, float] = {}             # iteration -> clock of its first report
        self.last: dict[int, np.ndarray] = {}              # decisions at the last evaluated iteration
        self.expected = set(self.roles)                    # who should report: last iteration's members
        self.done = -1                                     # last evaluated iteration
        self.changes_applied = 0
        self.history: list[dict] = []

    def report(self, drone: int, k: int, x: np.ndarray, clock: float = 0.0) -> None:
        """Drone `drone` flew decision x for iteration k (late reports are dropped)."""
        if k <= self.done or drone not in self.roles:
            return
        self.pending.setdefault(k, {})[drone] = np.asarray(x, float)
        self.first_seen.setdefault(k, clock)

    def ready(self, clock: float, timeout: float | None = None) -> list[int]:
        """Iterations to evaluate now: every expected drone reported, or the wait (`timeout`,
        default the spec's report_timeout) is over."""
        wait = self.spec.report_timeout if timeout is None else timeout
        out = []
        for k in sorted(self.pending):
            if not self.missing(k) or clock - self.first_seen[k] >= wait:
                out.append(k)
        return out

    def missing(self, k: int) -> set[int]:
        """The expected drones that have not reported iteration k."""
        return self.expected - set(self.pending.get(k, ()))

    def evaluate(self, k: int) -> dict[int, tuple[float, float]]:
        """J(k) and Delta_i(k) for every drone that reported k: {drone: (delta, J)}."""
        reports = self.pending.pop(k)
        for old in [j for j in self.pending if j < k]:
            del self.pending[old]
        self.first_seen = {j: c for j, c in self.first_seen.items() if j > k}
        t = self.spec.iteration_time(k)
        while self.changes_applied < len(self.spec.changes) and self.spec.changes[self.changes_applied][0] <= t:
            self.objective = self.objective.changed(self.spec.changes[self.changes_applied][1])
            self.changes_applied += 1
        ids = sorted(reports)
        x = np.array([reports[i] for i in ids])
        x_prev = np.array([self.last.get(i, reports[i]) for i in ids])
        self.objective.team([self.roles[i] for i in ids])
        cost = self.objective.cost(x)
        deltas = cost - self.objective.what_ifs(x, x_prev)
        self.last, self.done, self.expected = dict(zip(ids, x)), k, set(ids)
        self.history.append({"k": k, "cost": cost, "members": ids})
        return {i: (float(dl), cost) for i, dl in zip(ids, deltas)}

    def summary(self) -> dict:
        return objective_summary(self.spec.kind, self.history)


def objective_summary(kind: str, history: list[dict]) -> dict:
    """The figures of a CAO run for the mission summary, from its iterations {k, cost, members}."""
    costs = [h["cost"] for h in history]
    if not costs:
        return {"kind": kind, "iterations": 0}
    return {"kind": kind, "iterations": len(costs), "first_cost": costs[0], "final_cost": costs[-1],
            "best_cost": min(costs), "members": len(history[-1]["members"])}
