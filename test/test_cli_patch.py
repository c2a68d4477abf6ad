"""`swarm-ros patch`: keygen, build, sign, verify (the drone's checks) and apply from the CLI;
refusals and bad input give one line and a non-zero exit."""
from __future__ import annotations

import json

import pytest

from swarm_ros.cli import main
from patch_helpers import MODELS

BASE, TUNED = str(MODELS / "base.safetensors"), str(MODELS / "tuned.safetensors")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    for name in ("ops", "rogue"):
        assert main(["patch", "keygen", str(d / name)]) == 0
    assert main(["patch", "build", "--base", BASE, "--tuned", TUNED, "--freeze", "conv1,conv2,conv3,conv4",
                 "--version", "2", "--target", "type=cf,role=scout", "--out", str(d / "p.patch")]) == 0
    return d


def _one_line_error(capsys, prefix):
    err = capsys.readouterr().err.strip()
    assert err.startswith(prefix) and "\n" not in err and "Traceback" not in err
    return err


def test_unsigned_then_signed_verify(built, capsys):
    d = built
    args = ["patch", "verify", str(d / "p.patch"), "--base", BASE, "--key", str(d / "ops.pub")]
    assert main(args) == 1
    assert "unsigned patch" in _one_line_error(capsys, "refused:")
    assert main(["patch", "sign", str(d / "p.patch"), "--key", str(d / "ops.key"), "--out", str(d / "s.patch")]) == 0
    args[2] = str(d / "s.patch")
    assert main(args) == 0
    assert main(args[:-1] + [str(d / "rogue.pub")]) == 1
    assert "signature does not verify" in _one_line_error(capsys, "refused:")
    assert main(args + ["--drone", "name=p1,type=px4,role=scout"]) == 1
    assert "does not select drone p1" in _one_line_error(capsys, "refused:")
    assert main(["patch", "verify", str(d / "s.patch"), "--base", TUNED, "--key", str(d / "ops.pub")]) == 1
    assert "already installed" in _one_line_error(capsys, "refused:")


def test_apply_installs_once(built, capsys, tmp_path):
    d = built
    main(["patch", "sign", str(d / "p.patch"), "--key", str(d / "ops.key"), "--out", str(d / "s2.patch")])
    capsys.readouterr()
    args = ["patch", "apply", str(d / "s2.patch"), "--state", str(tmp_path / "cf1"), "--key", str(d / "ops.pub"),
            "--drone", "name=cf1,type=cf,platform=crazyflie_2.1,role=scout", "--base", BASE]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "cf1: installed" and "  patch: version 2" in out and "{" not in "".join(out), out
    active = next(line for line in out if line.startswith("  active model: "))
    assert "version 2" in active and "classes" in active
    assert out[-1] == f"  status: {tmp_path / 'cf1' / 'status.json'}"
    assert main(args) == 1                                   # the same patch again
    assert "already installed" in _one_line_error(capsys, "refused:")
    assert main(args + ["--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "refused" and status["version"] == "2" and "already installed" in status["reason"]


def test_a_quantised_patch_builds_verifies_and_installs(built, capsys, tmp_path):
    d = built
    out = str(tmp_path / "q.patch")
    assert main(["patch", "build", "--base", BASE, "--tuned", TUNED, "--freeze", "", "--version", "2",
                 "--quantise", "--key", str(d / "ops.key"), "--out", out]) == 0
    said = capsys.readouterr().out
    assert "as quantised deltas" in said and "signed" in said
    assert main(["patch", "verify", out, "--base", BASE, "--key", str(d / "ops.pub")]) == 0
    capsys.readouterr()
    assert main(["patch", "apply", out, "--state", str(tmp_path / "cf1"), "--key", str(d / "ops.pub"),
                 "--drone", "name=cf1,type=cf,role=scout", "--base", BASE]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "cf1: installed"


def test_apply_json_prints_the_agent_status(built, capsys, tmp_path):
    d = built
    main(["patch", "sign", str(d / "p.patch"), "--key", str(d / "ops.key"), "--out", str(d / "s3.patch")])
    capsys.readouterr()
    assert main(["patch", "apply", str(d / "s3.patch"), "--state", str(tmp_path / "cf2"), "--key", str(d / "ops.pub"),
                 "--drone", "name=cf2,type=cf,role=scout", "--base", BASE, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["drone"], status["state"], status["version"], status["patch_version"]) == ("cf2", "installed", "2", "2")


def test_status_lines_say_why_a_patch_was_rolled_back(tmp_path):
    from swarm_ros.cli.patch import status_lines
    lines = status_lines({"drone": "cf1", "state": "rolled_back", "version": "1", "hash": "ab" * 8, "classes": 5,
                          "time": 0.0, "reason": "post-apply: self-test failed", "patch_version": "2",
                          "fallback": {"from": "b", "to": "a", "reason": "hash mismatch"}}, tmp_path)
    assert lines == ["cf1: rolled back", "  reason: post-apply: self-test failed", "  patch: version 2",
                     f"  active model: version 1, hash {'ab' * 8}, 5 classes",
                     "  running from slot a: slot b failed (hash mismatch)", f"  status: {tmp_path / 'status.json'}"]


@pytest.mark.parametrize("argv, prefix", [
    (["patch", "verify", "missing.patch", "--base", BASE, "--key", "missing.pub"], "refused:"),
    (["patch", "build", "--base", BASE, "--tuned", TUNED, "--freeze", "conv9", "--version", "2", "--out", "x"], "refused:"),
    (["patch", "build", "--base", BASE, "--tuned", TUNED, "--freeze", "conv1", "--version", "2",
      "--target", "colour=red", "--out", "x"], "refused:"),
    (["patch", "build", "--base", "nope.safetensors", "--tuned", TUNED, "--freeze", "conv1", "--version", "2",
      "--out", "x"], "error:"),
    (["patch", "apply", "x.patch", "--state", "s", "--key", "k", "--drone", "cf1"], "error:"),
])
def test_bad_input_is_one_line(argv, prefix, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) != 0
    _one_line_error(capsys, prefix)


def test_push_refuses_a_target_other_than_the_signed_one(built, capsys):
    d = built
    assert main(["patch", "push", str(d / "p.patch"), "--target", "type=px4"]) == 1
    assert "is not the patch's signed target 'role=scout,type=cf'" in _one_line_error(capsys, "error:")


def test_push_without_a_server_says_so(built, ros_env):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "swarm_ros.cli", "patch", "push", str(built / "p.patch"),
                          "--timeout", "1"], capture_output=True, text=True, env=ros_env, timeout=60)
    assert out.returncode == 3 and out.stderr.startswith("error: no update server within 1 s")
    assert len(out.stderr.strip().splitlines()) == 1


def test_status_of_a_missing_mission_is_one_line(capsys):
    assert main(["patch", "status", "no_such_mission.yaml"]) == 2
    _one_line_error(capsys, "error:")


def test_malformed_patch_files_are_one_line_refusals(built, capsys, tmp_path):
    from firmware_update.model import Model
    from firmware_update.patch import load_private_key, load_public_key
    from test_patch import malformed_patches
    d = built
    env = {"base": Model.load(BASE), "tuned": Model.load(TUNED), "key": load_private_key(d / "ops.key"),
           "pub": load_public_key(d / "ops.pub")}
    for name, data in malformed_patches(env).items():
        path = tmp_path / "bad.patch"
        path.write_bytes(data)
        assert main(["patch", "verify", str(path), "--base", BASE, "--key", str(d / "ops.pub")]) == 1, name
        _one_line_error(capsys, "refused:")
        assert main(["patch", "push", str(path), "--timeout", "1"]) == 1, name    # refused before any ROS
        _one_line_error(capsys, "refused:")
