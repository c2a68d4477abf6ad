"""Plugins found by name: Python entry points of one group, or a `module:Class` path.

The built-ins register through setup.py's entry points like any installed plugin; `builtins`
(name -> "module:attr") is what a source checkout without install metadata falls back on
(test_vehicle_registry checks that setup.py registers exactly these).
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from .core.configfile import Invalid


@lru_cache(maxsize=1)
def _installed():
    """Every installed entry point, read in one pass over the distributions, whatever the groups asked."""
    return entry_points()


@lru_cache(maxsize=None)
def installed(group: str) -> dict[str, str]:
    """name -> "module:attr" of every installed entry point of `group` (first one of a name wins)."""
    out: dict[str, str] = {}
    for ep in _installed().select(group=group):
        out.setdefault(ep.name, ep.value)
    return out


def refresh() -> None:
    """Forget the entry points read so far (after installing a plugin into a running process)."""
    _installed.cache_clear()
    installed.cache_clear()


def registered(group: str, builtins: dict[str, str]) -> dict[str, str]:
    """name -> "module:attr": the built-ins first, then installed plugins by name."""
    found = installed(group)
    out = {name: found.get(name, target) for name, target in builtins.items()}
    out.update(sorted((n, t) for n, t in found.items() if n not in out))
    return out


def import_path(target: str):
    """The object a "module:attr" path names (ImportError, AttributeError when there is none)."""
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


class Plugin:
    """Checker for a plugin name in a config file: a registered name or `module:Class`, of `base`."""

    def __init__(self, group: str, builtins: dict[str, str], base: type, what: str):
        self.group, self.builtins, self.base, self.what = group, builtins, base, what
        self.allowed = "one of " + ", ".join(registered(group, builtins)) + f", or a {what} as module:Class"

    def __call__(self, v):
        if not isinstance(v, str):
            raise Invalid(self.allowed)
        target = registered(self.group, self.builtins).get(v, v if ":" in v else None)
        if target is None:
            raise Invalid(self.allowed)
        try:
            obj = import_path(target)
        except Exception as err:      # a broken plugin is a config problem, reported in one line
            raise Invalid(self.allowed, f"cannot load {v!r} ({target}): {type(err).__name__}: {err}") from None
        if not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise Invalid(self.allowed, f"{v!r} ({target}) is not a {self.what} (a {self.base.__name__} subclass)")
        return obj
