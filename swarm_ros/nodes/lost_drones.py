"""Which drones the simulator has given up waiting for, and what their failsafe flies.

A drone that stays silent for `lost_after` ticks stepped without its answer after the command
timeout, or whose command publisher disappears from the graph (its process ended), is LOST: the lockstep barrier stops waiting for it, so one dead process cannot slow the
swarm down, and the simulator flies its failsafe instead: hover for FAILSAFE_HOVER s of mission
time, then descend until it is on the ground, as a vehicle's firmware does when its companion
computer goes quiet. A lost drone that answers a tick again (a restarted process) rejoins.
ROS-free, so the rules are tested without DDS.
"""
from __future__ import annotations

import numpy as np

FAILSAFE_HOVER = 2.0   # s (mission time) a lost drone hovers before its failsafe lands it
LAND_SPEED = 0.4       # m/s the failsafe descends at, slowing down over the last metre
LOST_AFTER = 5         # default: command timeouts of silence before a drone is lost (5 s)


class LostDrones:
    def __init__(self, names: list[str], lost_after: int = LOST_AFTER):
        self.names, self.lost_after = names, max(1, int(lost_after))
        n = len(names)
        self.lost = np.zeros(n, dtype=bool)
        self.lost_at = np.zeros(n)                    # mission time each one was declared lost
        self.silent_ticks = np.zeros(n, dtype=int)    # consecutive ticks stepped without its answer
        self.record: list[dict] = []                  # every loss, for the summary: name, t, reason, rejoined

    def stepped(self, silent: np.ndarray, t: float) -> list[dict]:
        """Count a tick stepped with `silent` drones (no answer after the command timeout); the
        losses this declares."""
        self.silent_ticks = np.where(silent & ~self.lost, self.silent_ticks + 1, 0)
        due = np.nonzero(self.silent_ticks >= self.lost_after)[0]
        return [self.declare(k, t, f"no command for {self.lost_after} ticks") for k in due]

    def declare(self, k: int, t: float, reason: str) -> dict:
        self.lost[k], self.lost_at[k], self.silent_ticks[k] = True, t, 0
        entry = {"name": self.names[k], "t": round(float(t), 3), "reason": reason, "rejoined": None}
        self.record.append(entry)
        return entry

    def rejoin(self, k: int, t: float) -> dict | None:
        """A lost drone answered again: back in the barrier. The loss stays on record."""
        if not self.lost[k]:
            return None
        self.lost[k] = False
        entry = next(e for e in reversed(self.record) if e["name"] == self.names[k])
        entry["rejoined"] = round(float(t), 3)
        return entry

    def commands(self, cmd: np.ndarray, hover: np.ndarray, position: np.ndarray, t: float) -> np.ndarray:
        """The commands to step with: each drone's own, zero for `hover` ones, the failsafe for lost ones."""
        out = np.where(hover[:, None], 0.0, cmd)
        landing = self.lost & (t - self.lost_at >= FAILSAFE_HOVER)
        out[self.lost] = 0.0
        out[landing, 2] = -np.minimum(LAND_SPEED, np.maximum(position[landing, 2], 0.0))
        return out
