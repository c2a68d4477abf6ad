"""Target selectors: which drones a model patch is for.

A selector is text like ``type=cf,role=scout|mapper,tag=camera``. Keys are ANDed; values of
one key, separated by ``|``, are ORed. ``*`` or empty text selects every drone. One selector
decides installation on the drone itself, routing in SwarmSync and the network simulator, so
the same text means the same set everywhere.

Keys: ``name`` (drone name), ``type`` (fleet type name *or* platform name, so ``type=cf`` and
``type=crazyflie_2.1`` both work), ``platform``, ``role``, ``tag`` (any of the drone's tags).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KEYS = ("name", "type", "platform", "role", "tag")
_VALUE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class SelectorError(ValueError):
    """Selector text that cannot be parsed; the message names the part and what is allowed."""


@dataclass(frozen=True)
class DroneIdentity:
    """What a drone knows about itself that selectors may test."""
    name: str
    type: str
    platform: str
    role: str
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec) -> "DroneIdentity":
        """From a fleet DroneSpec (or anything with the same attributes)."""
        return cls(spec.name, spec.type, spec.platform, spec.role, tuple(spec.tags))


@dataclass(frozen=True)
class TargetSelector:
    clauses: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def parse(cls, text: str) -> "TargetSelector":
        text = (text or "").strip()
        if text in ("", "*"):
            return cls()
        clauses: dict[str, set[str]] = {}
        for part in text.split(","):
            part = part.strip()
            key, eq, values = part.partition("=")
            key = key.strip()
            if not eq or key not in KEYS:
                raise SelectorError(f"selector part {part!r}: expected KEY=VALUE with KEY one of "
                                    f"{', '.join(KEYS)}")
            vals = [v.strip() for v in values.split("|")]
            bad = [v for v in vals if not _VALUE.match(v)]
            if bad:
                raise SelectorError(f"selector part {part!r}: value {bad[0]!r} is not allowed "
                                    f"(letters, digits, '_', '.', '-'; alternatives separated by '|')")
            if key in clauses:
                raise SelectorError(f"selector key {key!r} given twice; use {key}=a|b for alternatives")
            clauses[key] = set(vals)
        return cls(tuple(sorted((k, frozenset(v)) for k, v in clauses.items())))

    def matches(self, drone: DroneIdentity) -> bool:
        for key, values in self.clauses:
            if key == "type":
                ok = drone.type in values or drone.platform in values
            elif key == "tag":
                ok = bool(values.intersection(drone.tags))
            else:
                ok = getattr(drone, key) in values
            if not ok:
                return False
        return True

    def select(self, drones) -> list:
        """The drones (DroneIdentity or fleet DroneSpec) this selector targets, in input order."""
        return [d for d in drones if self.matches(d if isinstance(d, DroneIdentity) else DroneIdentity.of(d))]

    def text(self) -> str:
        """Canonical text: parse(s.text()) == s, and equal selectors give equal text (for signing)."""
        if not self.clauses:
            return "*"
        return ",".join(f"{k}={'|'.join(sorted(v))}" for k, v in self.clauses)
