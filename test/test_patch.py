"""Model patches: refusals leave the running model unchanged; an install reproduces the
fine-tuned model bit for bit; frozen layers stay; only targeted drones install."""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from firmware_update.agent import UpdateAgent
from firmware_update.model import Model, ModelError, read_metadata
from firmware_update.patch import FORMAT, Patch, PatchRefused, build, verify
from firmware_update.selector import DroneIdentity
from firmware_update.shapes import ALL_CLASSES, dataset
from patch_helpers import FROZEN, SCOUT, keypair, models, signed


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    base, tuned = models()
    key, pub = keypair(folder, "trusted")
    other, _ = keypair(folder, "other")
    return {"base": base, "tuned": tuned, "key": key, "pub": pub, "other": other}


def _agent(tmp_path, env, identity=SCOUT):
    return UpdateAgent(tmp_path / identity.name, identity, [env["pub"]], env["base"])


def _tamper_tensor(data: bytes) -> bytes:
    meta = read_metadata(data, "patch")
    tensors = st_load(data)
    tensors["head.bias"] = tensors["head.bias"].copy()
    tensors["head.bias"][0] += np.float32(0.5)
    return st_save(tensors, metadata=meta)


def _tamper_manifest(data: bytes, **changes) -> bytes:
    meta = read_metadata(data, "patch")
    meta["manifest"] = json.dumps({**json.loads(meta["manifest"]), **changes})
    return st_save(st_load(data), metadata=meta)


REFUSALS = {
    "tampered tensor": (lambda e: _tamper_tensor(signed(e["base"], e["tuned"], e["key"])), "does not match its signed hash"),
    "tampered target": (lambda e: _tamper_manifest(signed(e["base"], e["tuned"], e["key"], target="type=px4"),
                                                   target="*"), "signature does not verify"),
    "unsigned": (lambda e: build(e["base"], e["tuned"], FROZEN, "2", "*").to_bytes(), "unsigned patch"),
    "wrong key": (lambda e: signed(e["base"], e["tuned"], e["other"]), "signature does not verify"),
    "downgrade": (lambda e: signed(e["base"], e["tuned"], e["key"], version="0"), "no downgrade"),
    "same version": (lambda e: signed(e["base"], e["tuned"], e["key"], version="1"), "not newer"),
    "wrong target": (lambda e: signed(e["base"], e["tuned"], e["key"], target="type=px4"), "does not select drone cf1"),
    "not a patch": (lambda e: e["base"].to_bytes(), "not a model patch"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_patches_are_refused_and_the_model_stays(tmp_path, env, case):
    make, reason = REFUSALS[case]
    agent = _agent(tmp_path, env)
    before = (agent.model.hash(), agent.active_slot(), (tmp_path / "cf1" / "slots" / "A.safetensors").read_bytes())
    status = agent.offer(make(env))
    assert status["state"] == "refused" and reason in status["reason"]
    assert (agent.model.hash(), agent.active_slot(),
            (tmp_path / "cf1" / "slots" / "A.safetensors").read_bytes()) == before
    assert not (tmp_path / "cf1" / "pending.patch").exists()
    assert UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]]).model.hash() == env["base"].hash()


def test_wrong_base_is_refused(tmp_path, env):
    other = Model({**env["base"].tensors, "conv1.bias": env["base"].tensors["conv1.bias"] + np.float32(1e-3)},
                  env["base"].classes)
    other_tuned = Model({**env["tuned"].tensors, "conv1.bias": other.tensors["conv1.bias"]}, env["tuned"].classes)
    agent = _agent(tmp_path, env)
    status = agent.offer(signed(other, other_tuned, env["key"]))
    assert status["state"] == "refused" and "patch is for base model" in status["reason"]
    assert agent.model.hash() == env["base"].hash()


def test_installed_model_equals_the_fine_tuned_one_bit_for_bit(tmp_path, env):
    agent = _agent(tmp_path, env)
    data = signed(env["base"], env["tuned"], env["key"])
    status = agent.offer(data)
    assert status["state"] == "installed" and status["version"] == "2"
    assert agent.active_slot() == "B"
    images = dataset(ALL_CLASSES, 20, seed=5)[0]
    assert agent.model.logits(images).tobytes() == env["tuned"].logits(images).tobytes()
    assert agent.model.hash() == env["tuned"].hash()
    for name in agent.model.tensors:                     # frozen layers are the base's, untouched
        if name.split(".")[0] in FROZEN:
            assert agent.model.tensors[name].tobytes() == env["base"].tensors[name].tobytes()
    patch = Patch.from_bytes(data)
    assert sorted({n.split(".")[0] for n in patch.tensors}) == ["fc1", "head"]
    assert len(data) < 0.25 * len(env["tuned"].to_bytes())
    again = agent.offer(data)                            # replay of the installed patch: no downgrade
    assert again["state"] == "refused" and agent.model.hash() == env["tuned"].hash()
    restarted = UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]])
    assert restarted.model.hash() == env["tuned"].hash()


def test_only_targeted_drones_install(tmp_path, env):
    fleet = [SCOUT, DroneIdentity("cf2", "cf", "crazyflie_2.1", "mapper"),
             DroneIdentity("px1", "px4", "px4_x500", "scout"), DroneIdentity("cf3", "cf", "crazyflie_2.1", "scout")]
    data = signed(env["base"], env["tuned"], env["key"], target="type=cf,role=scout")
    states = {d.name: _agent(tmp_path, env, d).offer(data)["state"] for d in fleet}
    assert states == {"cf1": "installed", "cf2": "refused", "px1": "refused", "cf3": "installed"}


def test_failed_self_test_rolls_back(tmp_path, env):
    patch = build(env["base"], env["tuned"], FROZEN, "2", "*")
    labels = patch.manifest["probe"]["labels"]
    patch.manifest["probe"]["labels"] = [(v + 1) % len(ALL_CLASSES) for v in labels]   # a builder bug
    agent = _agent(tmp_path, env)
    status = agent.offer(patch.sign(env["key"]).to_bytes())
    assert status["state"] == "rolled_back" and "self-test" in status["reason"]
    assert agent.active_slot() == "A" and agent.model.hash() == env["base"].hash()
    assert UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]]).model.hash() == env["base"].hash()


def test_verify_without_a_running_model_checks_signature_and_target(env):
    data = signed(env["base"], env["tuned"], env["key"])
    assert verify(Patch.from_bytes(data), [env["pub"]]) is None
    with pytest.raises(PatchRefused, match="does not select"):
        verify(Patch.from_bytes(data), [env["pub"]], drone=DroneIdentity("p", "px4", "px4_x500", "scout"))


def test_build_refuses_a_frozen_layer_that_changed(env):
    with pytest.raises(PatchRefused, match="listed frozen but differs"):
        build(env["base"], env["tuned"], ("conv1", "conv2", "conv3", "conv4", "fc1"), "2")
    with pytest.raises(PatchRefused, match="unknown"):
        build(env["base"], env["tuned"], ("conv9",), "2")


def test_corrupted_model_file_is_named(tmp_path, env):
    data = bytearray(env["base"].to_bytes())
    data[-5] ^= 0xFF
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupted file"):
        Model.load(tmp_path / "m.safetensors")


def malformed_patches(env) -> dict:
    """name -> bytes of a patch that is broken after the signature layer or has no usable manifest."""
    good = signed(env["base"], env["tuned"], env["key"])
    tensors = st_load(good)
    out = {"truncated": good[:len(good) // 2],
           "manifest [1]": st_save(tensors, metadata={"format": FORMAT, "manifest": "[1]"}),
           "manifest 7": st_save(tensors, metadata={"format": FORMAT, "manifest": "7"})}
    for field in ("result_hash", "target", "tensors", "probe"):
        patch = build(env["base"], env["tuned"], FROZEN, "2", "type=cf,role=scout")
        del patch.manifest[field]
        out[f"signed without {field}"] = patch.sign(env["key"]).to_bytes()
    patch = build(env["base"], env["tuned"], FROZEN, "2", "type=cf,role=scout")
    patch.manifest["classes"] = "ring"
    out["signed classes not a list"] = patch.sign(env["key"]).to_bytes()
    return out


def test_malformed_patches_are_refused_not_crashes(tmp_path, env):
    agent = _agent(tmp_path, env)
    for name, data in malformed_patches(env).items():
        with pytest.raises(PatchRefused):
            verify(Patch.from_bytes(data), [env["pub"]], env["base"], SCOUT)
        status = agent.offer(data)
        assert status["state"] == "refused" and "\n" not in status["reason"], name
        assert agent.model.hash() == env["base"].hash() and agent.active_slot() == "A", name
        assert not (tmp_path / "cf1" / "pending.patch").exists()
