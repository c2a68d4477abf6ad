"""A/B slots on a damaged disk: the agent starts on the slot that verifies, says so, and heals
the bad slot with the next install; with no slot that verifies it stops with one clear error."""
from __future__ import annotations

import json

import pytest

from firmware_update.agent import UpdateAgent
from firmware_update.model import ModelError
from patch_helpers import SCOUT, keypair, models, signed


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slots")
    base, tuned = models()
    key, pub = keypair(folder)
    return {"base": base, "tuned": tuned, "key": key, "pub": pub, "patch": signed(base, tuned, key)}


def _installed(tmp_path, env):
    """A drone that installed the patch: slot A = base (old), slot B = tuned (active)."""
    state = tmp_path / "cf1"
    assert UpdateAgent(state, SCOUT, [env["pub"]], env["base"]).offer(env["patch"])["state"] == "installed"
    assert (state / "active").read_text() == "B"
    return state


def _flip_byte(path, at=-100):
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "flipped byte": (lambda p: _flip_byte(p), "corrupted file"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:5000]), "cannot read tensors"),
    "missing": (lambda p: p.unlink(), "cannot read"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_active_slot_falls_back_to_the_other(tmp_path, env, damage):
    state = _installed(tmp_path, env)
    hurt, reason = DAMAGE[damage]
    hurt(state / "slots" / "B.safetensors")
    seen = []
    agent = UpdateAgent(state, SCOUT, [env["pub"]], on_status=seen.append)
    assert agent.model.hash() == env["base"].hash() and agent.active_slot() == "A"
    assert (state / "active").read_text() == "A"                     # the fallback is durable
    fb = agent.status["fallback"]
    assert fb["from"] == "B" and fb["to"] == "A" and reason in fb["reason"] and "B.safetensors" in fb["reason"]
    assert seen[-1]["fallback"] == fb and json.loads((state / "status.json").read_text())["fallback"] == fb
    assert agent.offer(env["patch"])["state"] == "installed"         # the install rewrites slot B ...
    assert agent.model.hash() == env["tuned"].hash() and "fallback" not in agent.status   # ... healed
    assert UpdateAgent(state, SCOUT, [env["pub"]]).model.hash() == env["tuned"].hash()


@pytest.mark.parametrize("pointer", [b"C", b"", b"\xff\xfe"])
def test_an_active_pointer_naming_no_slot_falls_back_to_one_that_verifies(tmp_path, env, pointer):
    state = _installed(tmp_path, env)
    _flip_byte(state / "slots" / "A.safetensors")
    (state / "active").write_bytes(pointer)
    agent = UpdateAgent(state, SCOUT, [env["pub"]], env["base"])     # `initial` must not overwrite a slot
    assert agent.model.hash() == env["tuned"].hash() and agent.active_slot() == "B"
    assert agent.status["fallback"]["from"] == "?" and "expected A or B" in agent.status["fallback"]["reason"]


def test_a_missing_pointer_with_slots_on_disk_keeps_the_installed_model(tmp_path, env):
    state = _installed(tmp_path, env)
    (state / "active").unlink()
    (state / "slots" / "A.safetensors").unlink()
    agent = UpdateAgent(state, SCOUT, [env["pub"]], env["base"])
    assert agent.model.hash() == env["tuned"].hash() and agent.status["fallback"]["to"] == "B"


def test_no_slot_that_verifies_is_one_clear_error(tmp_path, env):
    state = _installed(tmp_path, env)
    _flip_byte(state / "slots" / "A.safetensors")
    (state / "slots" / "B.safetensors").write_bytes(b"not a model")
    before = {p.name: p.read_bytes() for p in (state / "slots").iterdir()}
    with pytest.raises(ModelError, match="no model slot verifies") as err:
        UpdateAgent(state, SCOUT, [env["pub"]], env["base"])
    text = str(err.value)
    assert "\n" not in text and "A.safetensors" in text and "B.safetensors" in text
    assert {p.name: p.read_bytes() for p in (state / "slots").iterdir()} == before   # nothing overwritten
