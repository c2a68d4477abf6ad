"""Plugins: classes found by name through Python entry points, or by a `module:Class` path.

A mission file names a controller (or another plugin: an objective of one, a physics backend,
a platform's autopilot) either by the name it is registered under in an entry-point group, which
is how the built-ins register too (setup.py), or by the import path of its class. Another package adds one with, in its pyproject.toml:

    [project.entry-points."swarm_ros.controllers"]
    consensus = "my_package.controller:ConsensusController"

Lookups import only the class asked for; listing the installed names imports nothing.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import distributions

from .configfile import Invalid

CONTROLLERS = "swarm_ros.controllers"   # entry-point group of controllers (control/contract.py)
HOME = "swarm_ros"                      # this distribution: its names are listed first


class PluginError(ValueError):
    """A name or path that gives no usable class: `problem` and what is `allowed`, for a ConfigError."""

    def __init__(self, problem: str, allowed: str):
        super().__init__(f"{problem}; allowed: {allowed}")
        self.problem, self.allowed = problem, allowed


def refresh() -> None:
    """Forget the entry points read so far (after installing a plugin into a running process)."""
    installed.cache_clear()


def names(group: str) -> list[str]:
    return list(installed(group))


def import_path(target: str):
    """The object a "module:attr" path names (ImportError, AttributeError when there is none)."""
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@lru_cache(maxsize=None)
def installed(group: str) -> dict:
    """Name -> entry point of `group`: swarm_ros's own, then other distributions', each in name
    order. The first registration of a name wins (swarm_ros's over a plugin's)."""
    # Every distribution's, not importlib's one per name: a stale copy of a package's metadata
    # earlier on sys.path (an old *.egg-info in a source checkout) must not hide the installed one.
    found = [ep for dist in distributions() for ep in dist.entry_points if ep.group == group]
    eps = sorted(found, key=lambda ep: (_dist(ep) != HOME, _dist(ep), ep.name))
    out: dict = {}
    for ep in eps:
        out.setdefault(ep.name, ep)
    return out


def _dist(ep) -> str:
    dist = getattr(ep, "dist", None)
    return (dist.metadata["Name"] or "").replace("-", "_").lower() if dist is not None else ""


def allowed_text(group: str, what: str) -> str:
    names = ", ".join(installed(group))
    return (f"one of {names} (the installed {what}s), or" if names else f"no {what}s are installed; give") + \
        f" a module:Class path to a {what} class"


def load(group: str, spec: str, base: type, what: str) -> type:
    """The class `spec` names: an installed name of `group`, or `package.module:Class`. It must
    be a subclass of `base`. Raises PluginError naming what is wrong."""
    allowed = allowed_text(group, what)
    if not isinstance(spec, str) or not spec:
        raise PluginError(f"got {spec!r}", allowed)
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise PluginError(f"{spec!r}: cannot import module {module_name!r} ({err})", allowed) from None
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
        if obj is None or not attr:
            raise PluginError(f"{spec!r}: module {module_name!r} has no {attr!r}", allowed)
    else:
        ep = installed(group).get(spec)
        if ep is None:
            raise PluginError(f"got {spec!r}", allowed)
        try:
            obj = ep.load()
        except (ImportError, AttributeError) as err:
            raise PluginError(f"{spec!r}: its entry point {ep.value} does not load ({err})", allowed) from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginError(f"{spec!r} is not a {what} class (a subclass of {base.__module__}.{base.__name__})",
                          allowed)
    return obj


class Plugin:
    """Checker for a plugin name in a config file (configfile.Section.get): returns the class."""

    def __init__(self, group: str, base: type, what: str):
        self.group, self.base, self.what = group, base, what
        self.allowed = allowed_text(group, what)

    def __call__(self, value):
        try:
            return load(self.group, value, self.base, self.what)
        except PluginError as err:
            raise Invalid(err.allowed, err.problem) from None


def read(section, key: str, group: str, base: type, what: str) -> tuple[str, type]:
    """The plugin a config section names at `key`: (its name as written, its class)."""
    def named(value):
        if not isinstance(value, str) or not value:
            raise Invalid(allowed_text(group, what))
        return value
    named.allowed = allowed_text(group, what)
    spec = section.get(key, named)
    try:
        return spec, load(group, spec, base, what)
    except PluginError as err:
        raise section.error(key, err.problem, err.allowed) from None


def load_all(group: str, base: type) -> dict[str, type]:
    """Every installed class of `group` that loads (for messages that say which plugin owns what)."""
    out = {}
    for name, ep in installed(group).items():
        try:
            obj = ep.load()
        except Exception:          # noqa: BLE001 - a broken plugin must not hide the real error
            continue
        if isinstance(obj, type) and issubclass(obj, base):
            out[name] = obj
    return out
