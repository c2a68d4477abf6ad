"""A module that skips itself at import (PX4 absent, an optional package missing) must skip only
itself. With the launch_testing pytest plugin loaded (it comes with the ROS 2 tooling), the skip
escapes that plugin's module hook and pytest then reports the whole run as one skipped test."""
from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makemodule(module_path, parent):
    outcome = yield
    if isinstance(outcome.exception, pytest.skip.Exception):
        # a plain Module imports the file again when collected, where pytest handles the skip
        outcome.force_result(pytest.Module.from_parent(parent, path=module_path))
