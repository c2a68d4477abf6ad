"""A real process killed (SIGKILL, by pid) during a transfer or an install leaves a complete,
checked model active, and a restarted agent resumes: the transfer from the chunks it holds,
the install from the staged patch."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware_update.agent import UpdateAgent
from firmware_update.chunks import encode
from firmware_update.model import Model
from patch_helpers import SCOUT, keypair, models, signed

TEST_DIR = Path(__file__).resolve().parent
CHUNK = 4096

# The driver is the real agent; the only change is a pause at one named step, so the kill lands there.
DRIVER = textwrap.dedent("""
    import sys, time, hashlib
    sys.path.insert(0, {test_dir!r})
    import firmware_update.agent as agent_mod, firmware_update.model as model_mod
    from firmware_update.chunks import encode
    from firmware_update.patch import load_public_key
    from patch_helpers import SCOUT
    state, patch_file, pub, pause = sys.argv[1:5]
    def pause_here():
        print("PAUSED", flush=True)
        time.sleep(120)
    real = model_mod.write_atomic
    def write_atomic(path, data):
        if pause == "slot-write" and path.name.endswith(".safetensors") and "slots" in str(path):
            with open(str(path) + ".tmp", "wb") as f:
                f.write(data[:len(data) // 2]); f.flush()
            pause_here()
        if pause == "flip" and path.name == "active":
            pause_here()
        real(path, data)
    model_mod.write_atomic = agent_mod.write_atomic = write_atomic
    if pause == "post-check":
        real_check = agent_mod.UpdateAgent._post_check
        def post_check(self, m):
            pause_here()
        agent_mod.UpdateAgent._post_check = post_check
    agent = agent_mod.UpdateAgent(state, SCOUT, [load_public_key(pub)])
    data = open(patch_file, "rb").read()
    if pause == "transfer":
        parts, roots = encode(data, {chunk})
        missing = agent.begin("p2", len(data), hashlib.sha256(data).hexdigest(), {chunk}, roots.hex())
        for n, i in enumerate(missing):
            if n == 5:
                pause_here()
            agent.receive("p2", i, parts[i])
    else:
        agent.offer(data)
    print("DONE", flush=True)
""").format(test_dir=str(TEST_DIR), chunk=CHUNK)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    base, tuned = models()
    key, pub = keypair(folder)
    (folder / "p2.patch").write_bytes(signed(base, tuned, key))
    (folder / "driver.py").write_text(DRIVER)
    return folder, base, tuned, pub


def _run_until_paused_then_kill(folder, state, pause):
    proc = subprocess.Popen([sys.executable, str(folder / "driver.py"), str(state), str(folder / "p2.patch"),
                             str(folder / "k.pub"), pause], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == "PAUSED", f"driver said {line!r}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _active_model(state: Path) -> Model:
    slot = (state / "active").read_text()
    return Model.load(state / "slots" / f"{slot}.safetensors")    # raises if incomplete or corrupted


@pytest.mark.parametrize("pause", ["slot-write", "flip", "post-check"])
def test_kill_during_install_resumes(setup, tmp_path, pause):
    folder, base, tuned, pub = setup
    state = tmp_path / "cf1"
    UpdateAgent(state, SCOUT, [pub], base)
    _run_until_paused_then_kill(folder, state, pause)
    assert _active_model(state).hash() in {base.hash(), tuned.hash()}
    assert (state / "pending.patch").exists()                  # the verified patch survived the kill
    agent = UpdateAgent(state, SCOUT, [pub])                    # restart: resumes the install
    assert agent.status["state"] == "installed"
    assert agent.model.hash() == tuned.hash() == _active_model(state).hash()
    assert not (state / "pending.patch").exists()


def test_kill_during_transfer_resumes_from_held_chunks(setup, tmp_path):
    folder, base, tuned, pub = setup
    state = tmp_path / "cf1"
    UpdateAgent(state, SCOUT, [pub], base)
    _run_until_paused_then_kill(folder, state, "transfer")
    assert _active_model(state).hash() == base.hash()
    data = (folder / "p2.patch").read_bytes()
    agent = UpdateAgent(state, SCOUT, [pub])
    parts, roots = encode(data, CHUNK)
    missing = agent.begin("p2", len(data), hashlib.sha256(data).hexdigest(), CHUNK, roots.hex())
    assert len(missing) == len(parts) - 5                       # the 5 chunks written before the kill are kept
    statuses = [agent.receive("p2", i, parts[i]) for i in missing]
    assert statuses[-1]["state"] == "installed" and all(s is None for s in statuses[:-1])
    assert agent.model.hash() == tuned.hash()
    assert not list((state / "staging").iterdir())


def test_a_corrupted_chunk_is_refused_and_received_again(setup, tmp_path):
    folder, base, tuned, pub = setup
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [pub], base)
    data = (folder / "p2.patch").read_bytes()
    parts, roots = encode(data, CHUNK)
    args = ("p2", len(data), hashlib.sha256(data).hexdigest(), CHUNK, roots.hex())
    missing = agent.begin(*args)
    bad = bytearray(parts[3])
    bad[10] ^= 1
    assert [agent.receive("p2", i, bytes(bad) if i == 3 else parts[i]) for i in missing] == [None] * len(missing)
    assert agent.begin(*args) == [3]                            # only the bad chunk is missing ...
    assert not (tmp_path / "cf1" / "staging" / "p2" / "chunk_3").exists()   # ... and it never reached disk
    assert agent.model.hash() == base.hash()
    assert agent.receive("p2", 3, parts[3])["state"] == "installed"
    assert agent.model.hash() == tuned.hash()


@pytest.mark.parametrize("bad_id", ["../pwn", "/abs/pwn"])
def test_begin_refuses_an_id_that_is_not_a_plain_name(setup, tmp_path, bad_id):
    folder, base, _tuned, pub = setup
    if bad_id.startswith("/"):
        bad_id = str(tmp_path / "abs" / "pwn")
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [pub], base)
    data = (folder / "p2.patch").read_bytes()
    with pytest.raises(ValueError, match="not a plain name"):
        agent.begin(bad_id, len(data), hashlib.sha256(data).hexdigest(), CHUNK, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cf1"]
    assert not (tmp_path / "cf1" / "staging").exists() and agent.transfers == {}
