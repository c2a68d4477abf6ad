"""The documentation: the site builds with warnings as errors, its links and the README's resolve,
and every tutorial runs as written.

Tutorial pages mark each `bash` block with a MyST comment on the line before it:
`% run` (executed here), `% run if <program>: <why>` (executed where that program is on PATH) or
`% not run: <why>` (shown only: hardware, a PX4 build, an install into the user's environment).
A page's executed blocks run in order in one bash, from a fresh folder holding a copy of the
checkout's `examples/`, with pip installing into a folder of the test's own (never into .venv).
Nothing is fetched: external links are not checked, only that relative ones resolve.
"""
from __future__ import annotations

import html.parser
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import REPO

DOCS = REPO / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
MARK = re.compile(r"^% (run|run if (\S+)|not run)(?:: (.+))?$")


def blocks(page: Path) -> list[tuple[str, str | None, str | None, str]]:
    """(kind, program, reason, code) of every bash block of a page; kind None = unmarked."""
    lines = page.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() != "```bash":
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        mark = MARK.match(lines[i - 1]) if i else None
        kind = None if mark is None else ("run" if mark.group(1).startswith("run") else "not run")
        out.append((kind, mark.group(2) if mark else None, mark.group(3) if mark else None,
                    "\n".join(lines[i + 1:end])))
    return out


def test_every_tutorial_command_block_is_marked_run_or_not_run_with_a_reason():
    assert len(TUTORIALS) >= 7
    for page in TUTORIALS:
        found = blocks(page)
        assert any(kind == "run" for kind, _, _, _ in found), f"{page.name}: nothing runs"
        for kind, program, reason, code in found:
            assert kind is not None, f"{page.name}: unmarked block:\n{code}"
            assert kind == "run" and not program or reason, f"{page.name}: a skipped block needs a reason:\n{code}"


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs_as_written(page, ros_env, tmp_path):
    site, work = tmp_path / "site", tmp_path / "work"
    shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                                      "__pycache__"))
    env = dict(ros_env, PATH=os.pathsep.join([str(site / "bin"), str(Path(sys.executable).parent),
                                              os.environ.get("PATH", "")]),
               PYTHONPATH=str(site), PIP_TARGET=str(site), PIP_NO_DEPS="1", PIP_NO_BUILD_ISOLATION="0",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", COLUMNS="160")
    script, skipped = ["set -euo pipefail"], []
    for kind, program, reason, code in blocks(page):
        if kind == "run" and (not program or shutil.which(program, path=env["PATH"])):
            script.append(code)
        else:
            skipped.append(reason)
    if len(script) == 1:
        pytest.skip("; ".join(skipped))
    proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=900)
    finally:
        try:                 # whatever the page left running (a background job of a failed block)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0, out[-5000:]
    assert "Traceback" not in out, out[-5000:]


# --- the site -------------------------------------------------------------------------------------

class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and (tag in ("a", "img") or key == "src"):
                self.links.append(a[key])


def _local(link: str) -> bool:
    parts = urlsplit(link)
    return not parts.scheme and not parts.netloc and not link.startswith("mailto:")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The HTML site, built as CI builds it: warnings are errors."""
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(out / ".doctrees"), str(DOCS), str(out / "html")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return out / "html"


def test_the_site_builds_without_warnings_and_every_internal_link_resolves(site):
    parsed = {}

    def page(path: Path) -> _Links:
        if path not in parsed:
            parsed[path] = _Links()
            parsed[path].feed(path.read_text())
        return parsed[path]

    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    assert len(pages) > 20
    broken = []
    for p in pages:
        for link in page(p).links:
            if not _local(link):
                continue
            parts = urlsplit(link)
            target = (p.parent / unquote(parts.path)).resolve() if parts.path else p
            if not target.exists():
                broken.append(f"{p.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in page(target).ids:
                broken.append(f"{p.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_reference_pages_are_generated_from_the_code(site):
    from swarm_ros import topics
    from swarm_ros.cli import COMMANDS
    cli = (site / "reference" / "cli.html").read_text()
    for name in COMMANDS:
        assert f"swarm-ros {name.replace('_', '-')}" in cli, name
    own = {v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str)} & set(topics.TYPES)
    page = (site / "reference" / "topics.html").read_text()
    assert len(own) > 15 and all(name in page for name in own), own - {n for n in own if n in page}
    files = (site / "reference" / "files.html").read_text()
    assert "radio.loss_at_range" in files and "obstacles[i].type" in files and "limits.max_speed" in files


def test_guide_pages_are_picked_up_without_listing_them(site):
    for page in (DOCS / "guide").glob("*.md"):
        assert (site / "guide" / f"{page.stem}.html").is_file(), page.name


# --- the README -------------------------------------------------------------------------------------

def test_readme_is_short_and_its_links_resolve():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if _local(link):
            path = urlsplit(link).path
            assert (REPO / unquote(path)).exists(), link
    pictures = re.findall(r"!\[[^]]*\]\(([^)\s]+)\)", text)
    assert pictures and all((REPO / p).stat().st_size < 300_000 for p in pictures)
