"""Sphinx configuration of the swarm_ros documentation (MyST Markdown pages).

Build: `sphinx-build -W --keep-going docs docs/_build` (test/test_docs.py does it in CI). The
reference pages are generated from the code by the extension in _ext/, so they cannot go stale.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))   # the checkout's swarm_ros, also when it is not installed

project = "swarm_ros"
author = "the swarm_ros authors"
copyright = "the swarm_ros authors, Apache-2.0"   # noqa: A001  (Sphinx's name)
extensions = ["myst_parser", "swarm_ros_reference"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "README.md"]
myst_heading_anchors = 3          # `[text](page.md#a-heading)` links resolve (and are checked)
myst_enable_extensions = ["colon_fence"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_title = "swarm_ros"
suppress_warnings = []
