"""`check` validates everything `launch` will use, and both refuse in one line with exit code 2
before anything starts: update keys that are not Ed25519 public keys, a start model that does
not load, run and record folders that cannot be written."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from swarm_ros.core.configfile import ConfigError
from swarm_ros.mission import load_mission
from swarm_ros.preflight import folder_problem, preflight

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "test" / "config_errors"


def _mission(tmp_path, extra: str = "") -> Path:
    for name in ("valid_world.yaml", "valid_fleet.yaml"):
        (tmp_path / name).write_text((CORPUS / name).read_text())
    path = tmp_path / "m.yaml"
    path.write_text((CORPUS / "valid_mission_own_files.yaml").read_text() + extra)
    return path


def _cli(*args, cwd=None):
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    return subprocess.run([sys.executable, "-m", "swarm_ros.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def _one_line_error(out, *words):
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1, out.stderr
    for w in words:
        assert w in out.stderr, out.stderr


def test_a_key_that_is_not_a_public_key_is_a_check_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_mission(_mission(tmp_path, "updates: {keys: [/etc/passwd]}\n"))
    assert info.value.path == "updates.keys[0]" and "not a readable PEM public key" in info.value.problem
    assert "\n" not in str(info.value)


def test_a_real_public_key_passes(tmp_path):
    from firmware_update.patch import generate_key
    _, pub = generate_key()
    (tmp_path / "ops.pub").write_bytes(pub)
    m = load_mission(_mission(tmp_path, "updates: {keys: [ops.pub], state: state}\n"))
    assert m.updates.keys == (tmp_path / "ops.pub",)


def test_a_model_that_does_not_load_is_a_check_error(tmp_path):
    from firmware_update.patch import generate_key
    (tmp_path / "ops.pub").write_bytes(generate_key()[1])
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(ConfigError) as info:
        load_mission(_mission(tmp_path, "updates: {keys: [ops.pub], model: model.safetensors}\n"))
    assert info.value.path == "updates.model" and "\n" not in str(info.value)


def test_folder_problems():
    assert folder_problem(Path("/dev/null")) == "/dev/null exists and is not a folder"
    assert folder_problem(Path("/dev/null/run")).startswith("/dev/null exists and is not a folder")
    assert "cannot create a folder in /proc" in folder_problem(Path("/proc/runs"))


def test_a_writable_folder_is_fine_and_left_untouched(tmp_path):
    assert folder_problem(tmp_path / "a" / "b") == "" and list(tmp_path.iterdir()) == []


def test_record_path_under_proc_is_refused(tmp_path):
    m = load_mission(_mission(tmp_path, "record: {path: /proc}\n"))
    with pytest.raises(ConfigError) as info:
        preflight(m)
    assert info.value.path == "record.path" and "/proc" in info.value.problem


def test_cli_check_and_launch_refuse_an_unwritable_record_folder(tmp_path):
    path = _mission(tmp_path, "record: {path: /proc/runs}\n")
    _one_line_error(_cli("check", str(path)), "record.path", "cannot create a folder in /proc")
    _one_line_error(_cli("launch", str(path)), "record.path")


def test_cli_launch_refuses_a_run_dir_that_is_a_file(tmp_path):
    path = _mission(tmp_path)
    _one_line_error(_cli("launch", str(path), "--run-dir", "/dev/null"), "--run-dir", "not a folder")
    _one_line_error(_cli("check", str(path), "--run-dir", "/dev/null"), "--run-dir")


def test_cli_check_from_a_folder_where_runs_cannot_be_made(tmp_path):
    """The default record path `runs` is relative to the current folder: /proc cannot hold it
    (as a read-only folder cannot), and that is one line, not an OSError once nodes run."""
    _one_line_error(_cli("check", str(_mission(tmp_path)), cwd="/proc"), "record.path", "'runs'")


def test_cli_check_refuses_etc_passwd_as_a_key(tmp_path):
    _one_line_error(_cli("check", str(_mission(tmp_path, "updates: {keys: [/etc/passwd]}\n"))), "updates.keys[0]")
