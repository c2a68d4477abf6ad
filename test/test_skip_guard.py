"""A module-level skip skips that module only, with the ROS 2 launch_testing plugin loaded."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_a_module_that_skips_at_import_leaves_the_others_running(tmp_path):
    (tmp_path / "test_absent.py").write_text(
        "import pytest\npytest.skip('real PX4 not available', allow_module_level=True)\n")
    (tmp_path / "test_present.py").write_text("def test_runs():\n    assert True\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                          "-p", "skip_guard", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO / "test"), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout, run.stdout
    assert "real PX4 not available" in run.stdout
