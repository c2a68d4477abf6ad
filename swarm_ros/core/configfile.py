"""Strict YAML config reading: every error names file, field path, bad value and what is allowed.

Mission, fleet, world and params files all go through `Section`, so the error format is the
same everywhere and unknown keys are always caught (a typo must never be silently ignored).
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

REQUIRED = object()


class ConfigError(ValueError):
    """One bad field: `file: path: problem; allowed: ...` on one line."""

    def __init__(self, file: str | Path, path: str, problem: str, allowed: str = ""):
        self.file, self.path, self.problem, self.allowed = str(file), path, problem, allowed
        text = f"{self.file}: {path or '<top level>'}: {problem}" + (f"; allowed: {allowed}" if allowed else "")
        # One line, always: line breaks (from a quoted key or a file name) are shown escaped.
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))


class Invalid(Exception):
    """Raised by a checker; `Section` turns it into a ConfigError with file and path."""

    def __init__(self, allowed: str, problem: str | None = None):
        super().__init__(allowed)
        self.allowed, self.problem = allowed, problem


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- checkers: callables value -> value, raising Invalid(allowed) -------------------------------

class Number:
    def __init__(self, lo: float | None = None, hi: float | None = None, *, lo_open=False,
                 hi_open=False, integer=False):
        self.lo, self.hi, self.lo_open, self.hi_open, self.integer = lo, hi, lo_open, hi_open, integer
        kind = "an integer" if integer else "a number"
        parts = []
        if lo is not None:
            parts.append(f"{'>' if lo_open else '>='} {lo:g}")
        if hi is not None:
            parts.append(f"{'<' if hi_open else '<='} {hi:g}")
        self.allowed = kind + (" " + " and ".join(parts) if parts else "")

    def __call__(self, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Invalid(self.allowed)
        try:
            finite = math.isfinite(v)
        except OverflowError:          # an int too large for a float
            finite = False
        if not finite:
            raise Invalid(self.allowed)
        if self.integer and int(v) != v:
            raise Invalid(self.allowed)
        if self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo):
            raise Invalid(self.allowed)
        if self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi):
            raise Invalid(self.allowed)
        return int(v) if self.integer else float(v)


class Choice:
    def __init__(self, options: Iterable[str]):
        self.options = list(options)
        self.allowed = "one of " + ", ".join(self.options)

    def __call__(self, v):
        if v not in self.options:
            raise Invalid(self.allowed)
        return v


class Name:
    """Identifiers that become ROS namespaces, node names and topic parts."""
    pattern = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
    allowed = "a name of lowercase letters, digits and _ starting with a letter"

    def __call__(self, v):
        if not isinstance(v, str) or not self.pattern.match(v):
            raise Invalid(self.allowed)
        return v


class Text:
    allowed = "a string"

    def __call__(self, v):
        if not isinstance(v, str):
            raise Invalid(self.allowed)
        return v


class Bool:
    allowed = "true or false"

    def __call__(self, v):
        if not isinstance(v, bool):
            raise Invalid(self.allowed)
        return v


class Vector:
    def __init__(self, n: int, element: Number | None = None):
        self.n, self.element = n, element or Number()
        self.allowed = f"a list of {n} numbers ({self.element.allowed.replace('a number', 'each')})" \
            if self.element.allowed != "a number" else f"a list of {n} numbers"

    def __call__(self, v):
        if not isinstance(v, (list, tuple)) or len(v) != self.n:
            raise Invalid(self.allowed)
        try:
            return tuple(self.element(x) for x in v)
        except Invalid:
            raise Invalid(self.allowed) from None


class ListOf:
    def __init__(self, element, min_len: int = 0, unique: bool = False):
        self.element, self.min_len, self.unique = element, min_len, unique
        self.allowed = f"a list of {element.allowed}" + (f" (at least {min_len})" if min_len else "") \
            + (", no repeats" if unique else "")

    def __call__(self, v):
        if not isinstance(v, list) or len(v) < self.min_len:
            raise Invalid(self.allowed)
        out = []
        for x in v:
            try:
                out.append(self.element(x))
            except Invalid:
                raise Invalid(self.allowed, f"{show(x)} in {show(v)} is not allowed") from None
        if self.unique and len(set(out)) != len(out):
            raise Invalid(self.allowed, f"{show(v)} has repeats")
        return out


class Section:
    """A mapping in a config file at a field path. Read keys with `get`, then call `finish`."""

    def __init__(self, file: str | Path, path: str, data: Any, allowed: str = "a mapping of keys"):
        self.file, self.path = str(file), path
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(self.file, path, f"got {show(data)}", allowed)
        for k in data:
            if not isinstance(k, str):
                raise ConfigError(self.file, self.sub(str(k)), "keys must be strings", allowed)
        self.data, self.used = data, set()
        self.children: list[Section] = []     # sub-sections, checked for unknown keys by `finish` too

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | None, problem: str, allowed: str = "") -> ConfigError:
        return ConfigError(self.file, self.sub(key) if key else self.path, problem, allowed)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, check: Callable[[Any], Any], default: Any = REQUIRED):
        self.used.add(key)
        if key not in self.data:
            if default is REQUIRED:
                raise self.error(key, "missing", getattr(check, "allowed", ""))
            return default
        value = self.data[key]
        try:
            return check(value)
        except Invalid as bad:
            raise self.error(key, bad.problem or f"got {show(value)}", bad.allowed) from None

    def section(self, key: str, required: bool = True) -> "Section":
        self.used.add(key)
        if key not in self.data and required:
            raise self.error(key, "missing", "a mapping of keys")
        child = Section(self.file, self.sub(key), self.data.get(key))
        self.children.append(child)
        return child

    def keys(self) -> list[str]:
        return list(self.data)

    def finish(self) -> None:
        unknown = [k for k in self.data if k not in self.used]
        if unknown:
            raise self.error(unknown[0], "unknown key",
                             "keys " + ", ".join(sorted(self.used)) if self.used else "no keys")
        for child in self.children:           # a reader that forgot `finish` must not hide a typo
            child.finish()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last one silently).

    Keys brought in by a `<<` merge may still be overridden, as YAML merge keys intend."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    repeated = key in seen
                    seen.add(key)
                except TypeError:      # unhashable key: the base class reports it
                    continue
                if repeated:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"duplicate key {key!r}",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


MAX_FILE_BYTES = 4 * 1024 * 1024   # a config file; the largest shipped one is a few kB
MAX_DEPTH = 64                      # nesting of mappings and lists; real files nest under 10 deep
MAX_ALIAS_NODES = 10_000            # nodes that aliases (*name) may add by repeating anchored ones
MAX_NAME = 255                      # bytes of one path component (the usual file-system limit)
MAX_PATH = 4096                     # bytes of a whole path


class _BoundedLoader(_StrictLoader):
    """Refuses, while composing (before any object is built), nesting deeper than MAX_DEPTH and
    aliases that would repeat more than MAX_ALIAS_NODES nodes: a few hundred bytes of nested
    aliases otherwise expand to billions of nodes (memory exhaustion in whatever walks them)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth, self._alias_nodes, self._sizes = 0, 0, {}

    def _size(self, node) -> int:
        if isinstance(node, yaml.SequenceNode):
            inner = node.value
        elif isinstance(node, yaml.MappingNode):
            inner = [n for pair in node.value for n in pair]
        else:
            return 1
        return 1 + sum(self._sizes.get(id(n), 1) for n in inner)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._alias_nodes += self._sizes.get(id(node), 1)
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)", event.start_mark)
            return node
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} deep", event.start_mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = self._size(node)
        return node


def load_bounded(text: str):
    """Parse YAML text from elsewhere (a bag's metadata) with the same bounds as config files."""
    return yaml.load(text, Loader=_BoundedLoader)


def check_path_length(path: str | Path, what: str = "file") -> None:
    """ConfigError for a path the file system would refuse as too long (one line, not OSError)."""
    text = str(path)
    longest = max((len(part.encode(errors="replace")) for part in Path(text).parts), default=0)
    if longest > MAX_NAME or len(text.encode(errors="replace")) > MAX_PATH:
        raise ConfigError(show(text), "", f"{what} name too long ({len(text)} characters)",
                          f"file names of at most {MAX_NAME} bytes, paths of at most {MAX_PATH}")


def load_yaml(path: str | Path, what: str = "file") -> Section:
    """Read a YAML file into a top-level Section; YAML and I/O errors become ConfigErrors.
    Bounded: file size, nesting depth and alias expansion are limited (see the constants)."""
    check_path_length(path, what)
    path = Path(path)
    try:
        if not path.is_file():
            raise ConfigError(path, "", f"{what} not found", "an existing YAML file")
        size = path.stat().st_size
    except OSError as err:
        raise ConfigError(path, "", f"cannot read: {err.strerror}", "a readable UTF-8 YAML file") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(path, "", f"{what} is {size} bytes", f"at most {MAX_FILE_BYTES} bytes")
    try:
        data = yaml.load(path.read_text(), Loader=_BoundedLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(path, "", f"invalid YAML at {where}: {err.problem}", "valid YAML") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, "", f"invalid YAML: {err}", "valid YAML") from None
    except RecursionError:              # only with a recursion limit set far below MAX_DEPTH's needs
        raise ConfigError(path, "", "nested too deep", f"at most {MAX_DEPTH} levels") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, "", f"cannot read: {err}", "a readable UTF-8 YAML file") from None
    return Section(path, "", data, "a YAML mapping at the top level")


def name_variants(name: str, ext: str = "") -> list[str]:
    """A file name as given, then with `ext` added: `fleet: mixed_lab` finds mixed_lab.yaml."""
    return [name] + ([name + ext] if ext and not name.endswith(ext) else [])


def installed_names(search: Iterable[Path], ext: str) -> list[str]:
    """The bare names of the `ext` files in the search dirs: the choices an error lists."""
    return sorted({p.name[:-len(ext)] for d in search if Path(d).is_dir() for p in Path(d).glob("*" + ext)})


def one_of_installed(search: Iterable[Path], ext: str) -> str:
    names = installed_names(search, ext) if ext else []
    return f", or an installed name: {', '.join(names)}" if names else ""


def resolve_file(section: Section, key: str, what: str, search: Iterable[Path] = (), ext: str = "") -> Path:
    """A file named in a config file: relative to that file first, then the given search dirs.

    With `ext`, a name without it is also tried with it, and a name found nowhere is reported with
    the names installed in the search dirs."""
    here, search = Path(section.file).parent, list(search)
    allowed = f"a path to a {what}, relative to {here}" + one_of_installed(search, ext)
    if not section.has(key):
        raise section.error(key, "missing", allowed)
    name = section.get(key, Text())
    try:
        check_path_length(name, what)
    except ConfigError as err:
        raise section.error(key, err.problem, err.allowed) from None
    names = name_variants(name, ext)
    dirs = [Path()] if Path(name).is_absolute() else [here, *search]
    candidates = [d / n for d in dirs for n in names]
    for c in candidates:
        try:
            if c.is_file():
                return c.resolve()
        except OSError:                 # e.g. a search folder plus the name is too long a path
            continue
    looked = ", ".join(dict.fromkeys(str(c.parent) for c in candidates))
    raise section.error(key, f"{what} {name!r} not found (looked in {looked})", allowed)
