"""Reference pages generated from the code at build time, so they cannot go stale.

Three directives, each producing Markdown that MyST parses in place:
- `swarm-cli`: every `swarm-ros` command from the argument parser (`swarm_ros.cli.build_parser`).
- `swarm-topics`: topic names and message types from `swarm_ros.topics` (its docstring says what
  each one carries).
- `swarm-schema`: the keys of mission, fleet, world and platform files, read off the validation
  code itself: every shipped mission is loaded with `Section.get` traced, so each key the loader
  asks for appears with the rule it checks (`allowed`) and its default.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

REPO = Path(__file__).resolve().parents[2]


class _Markdown(SphinxDirective):
    """A directive whose output is Markdown text parsed as if it were written in the page."""

    has_content = False

    def markdown(self) -> list[str]:
        raise NotImplementedError

    def run(self):
        box = nodes.container()
        self.state.nested_parse(StringList(self.markdown(), source=self.env.docname), 0, box, match_titles=True)
        return box.children


def _text(text) -> str:
    """Plain text as Markdown that shows it literally (help texts hold `<mission>_<time>`, `*`);
    spans in backticks stay code."""
    text = str(text).replace("\n", " ").strip()
    plain = re.compile(r"([\\*_<>\[\]])")
    parts = text.split("`")
    if len(parts) % 2 == 0:            # an unpaired backtick: all of it is plain text
        return re.sub(r"([\\`*_<>\[\]])", r"\\\1", text)
    return "`".join(plain.sub(r"\\\1", p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _cell(text) -> str:
    """Markdown for one table cell: no pipes or line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) or " " for c in row) + " |" for row in rows]
    return out + [""]


# --- the CLI ------------------------------------------------------------------------------------

def _arguments(parser: argparse.ArgumentParser) -> list[list[str]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = ", ".join(f"`{o}`" for o in action.option_strings) or f"`{action.dest}`"
        if action.option_strings and action.nargs != 0:
            name += f" `{action.metavar or action.dest.upper()}`"
        default = "" if action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0 \
            else f"`{action.default}`"
        choices = f" (one of {', '.join(map(str, action.choices))})" if action.choices else ""
        text = (action.help or "").replace("%(default)s", str(action.default)).replace("%%", "%")
        rows.append([name, _text(text + choices), default])
    return rows


def _subparsers(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            return {name: (p, helps.get(name, "")) for name, p in action.choices.items()}
    return {}


def _command(name: str, parser: argparse.ArgumentParser, help_text: str, level: int) -> list[str]:
    out = [f"{'#' * level} `{name}`", ""]
    if help_text:
        out += [_text(help_text[0].upper() + help_text[1:] + "."), ""]
    out += ["```text", parser.format_usage().strip().removeprefix("usage: "), "```", ""]
    rows = _arguments(parser)
    if rows:
        out += _table(["argument", "what it does", "default"], rows)
    for sub, (p, h) in _subparsers(parser).items():
        out += _command(f"{name} {sub}", p, h, min(level + 1, 4))
    return out


class CliDirective(_Markdown):
    def markdown(self):
        import os
        os.environ["COLUMNS"] = "100"     # argparse wraps usage lines at the terminal width
        from swarm_ros.cli import build_parser
        commands = _subparsers(build_parser())
        out = []
        for name, (p, h) in commands.items():
            out += _command(f"swarm-ros {name}", p, h, 2)
        return out


# --- topics ---------------------------------------------------------------------------------------

class TopicsDirective(_Markdown):
    def markdown(self):
        from swarm_ros import topics
        from swarm_ros.mission import load_mission
        for path in sorted((REPO / "config" / "missions").glob("*.yaml")):
            load_mission(path)            # mission services (CAO, the planner) declare their topics
        doc = topics.__doc__ or ""
        # what each name carries: the first line of its entry in the module's docstring
        said, current = {}, None
        for line in doc.splitlines():
            m = re.match(r"\s{2}(\S+)\s+(\S+)\s+(.*)", line)
            if m and "/" in m.group(2):
                current = m.group(1)
                said.setdefault(current, m.group(3).strip())
            elif current and line.startswith(" " * 20):      # the entry goes on
                said[current] += " " + line.strip()
            else:
                current = None
        per_drone = sorted(n for n in topics.TYPES if not n.startswith("/"))
        swarm = sorted(n for n in topics.TYPES if n.startswith("/"))

        def rows(names, shown):
            return [[f"`{shown(n)}`", f"`{topics.TYPES[n].replace('/msg/', '/')}`",
                     "yes" if n in topics.LATCHED else "", _text(said.get(n, ""))] for n in names]
        out = ["## Per drone", "", "In each drone's namespace: `/<drone>/...`. Topics of the shipped mission "
               "services (CAO's cost evaluator, the planner) are included.", ""]
        out += _table(["topic", "type", "latched", "what it carries"], rows(per_drone, lambda n: f"/<drone>/{n}"))
        out += ["## Swarm-wide", ""]
        out += _table(["topic", "type", "latched", "what it carries"], rows(swarm, lambda n: n))
        out += [f"Frame of every pose and odometry: `{topics.WORLD_FRAME}` (ENU). Reliable topics keep a "
                f"history of {topics.DEPTH} messages.", ""]
        return out


# --- file schema ----------------------------------------------------------------------------------

# maps whose keys the user chooses: shown as a placeholder
_NAMED = {"roles": "<role>", "drones": "<drone>", "types": "<type>", "fov": "<role>", "footprint": "<role>",
          "sources": "<group>"}


def _generic(path: str) -> str:
    """`roles.inner_ring.params.radius` -> `roles.<role>.params.radius`; list indices -> `[i]`."""
    parts = path.split(".")
    out = []
    for i, part in enumerate(parts):
        if i and parts[i - 1] in _NAMED and out[-1] == parts[i - 1]:
            out.append(_NAMED[parts[i - 1]])
        else:
            out.append(re.sub(r"\[\d+\]", "[i]", re.sub(r"^\d+$", "[i]", part)))
    return ".".join(out)


def _show_default(value) -> str:
    if value is None or value == "" or type(value).__name__ == "object" or repr(value).startswith("<"):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _trace_schema() -> dict:
    """Load every shipped mission with `Section.get` and `Section.section` recorded."""
    import yaml
    from swarm_ros.core import configfile
    from swarm_ros.mission import load_mission

    seen: dict = {}          # kind -> {generic key: [allowed, default, required, note]}
    controller_of: dict = {}
    objective_of: dict = {}
    required = configfile.REQUIRED

    def kind_of(file: str) -> str:
        p = Path(file).resolve()
        for kind, folder in (("fleet", "fleets"), ("platform", "platforms"), ("world", "worlds"),
                             ("policy", "policies")):
            if folder in p.parts:
                return kind
        return "mission"

    original_get, original_section = configfile.Section.get, configfile.Section.section

    def note(section, key, allowed, default, is_section=False):
        path = section.sub(key)
        kind = kind_of(section.file)
        generic = _generic(path)
        m = re.match(r"roles\.([^.]+)\.params\.(?!safety\b)", path)    # the safety layer is everyone's
        extra = ""
        if kind == "mission" and m:
            extra = "controller `%s`" % controller_of.get(section.file, {}).get(m.group(1), "")
        elif kind == "mission" and re.match(r"objective\.(params|changes)", path):
            extra = "objective `%s`" % objective_of.get(section.file, "")
        entry = seen.setdefault(kind, {}).setdefault((generic, extra), {
            "allowed": allowed, "default": "" if default is required else _show_default(default),
            "required": default is required, "section": is_section})
        entry["required"] = entry["required"] and default is required

    def get(self, key, check, default=required):
        note(self, key, getattr(check, "allowed", ""), default)
        return original_get(self, key, check, default)

    def section(self, key, required=True):   # noqa: F811  (the loader's own keyword)
        note(self, key, "a mapping of keys", configfile.REQUIRED if required else None, True)
        return original_section(self, key, required)

    missions = sorted((REPO / "config" / "missions").glob("*.yaml"))
    configfile.Section.get, configfile.Section.section = get, section
    try:
        for path in missions:
            data = yaml.safe_load(path.read_text()) or {}
            controller_of[str(path)] = {r: (v or {}).get("controller", "") for r, v in (data.get("roles") or {}).items()}
            objective_of[str(path)] = (data.get("objective") or {}).get("kind", "")
            load_mission(path)
    finally:
        configfile.Section.get, configfile.Section.section = original_get, original_section
    return seen, [p.stem for p in missions]


class SchemaDirective(_Markdown):
    titles = {"mission": "Mission files", "fleet": "Fleet files", "world": "World files",
              "platform": "Platform files (vehicle types)", "policy": "Policy files"}

    def markdown(self):
        seen, missions = _trace_schema()
        self.env.note_dependency(str(REPO / "swarm_ros" / "mission.py"))
        out = []
        for kind in ("mission", "fleet", "world", "platform", "policy"):
            if kind not in seen:
                continue
            out += [f"## {self.titles[kind]}", ""]
            rows = []
            for (key, controller), e in sorted(seen[kind].items(), key=lambda kv: (kv[0][0].split("."), kv[0][1])):
                what = _text(e["allowed"]) + (f" ({controller})" if controller else "")
                rows.append([f"`{key}`", what, "none" if e["required"] else e["default"] or "optional"])
            out += _table(["key", "allowed", "default"], rows)
        return out


def setup(app):
    app.add_directive("swarm-cli", CliDirective)
    app.add_directive("swarm-topics", TopicsDirective)
    app.add_directive("swarm-schema", SchemaDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
