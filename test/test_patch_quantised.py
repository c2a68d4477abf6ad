"""Quantised-delta patches: a drone decodes exactly the model the builder signed, a tampered or
malformed quantised part is refused with the running model kept, and quantising costs at most
half a point of accuracy on the benchmark's test data, for each of three fine-tuning seeds."""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from firmware_update.agent import UpdateAgent
from firmware_update.model import read_metadata
from firmware_update.patch import FORMAT, FORMAT_QDELTA, Patch, build, tensor_digest
from firmware_update.patch_codec import QDELTA, reference
from firmware_update.training_set import test_data as held_out_data
from firmware_update.shapes import ALL_CLASSES
from firmware_update.train import fine_tune
from firmware_update.training_set import tune_data
from patch_helpers import FROZEN, SCOUT, keypair, models


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base, tuned = models()
    key, pub = keypair(tmp_path_factory.mktemp("keys"))
    patch = build(base, tuned, FROZEN, "2", "*", quantise=True).sign(key)
    return {"base": base, "tuned": tuned, "key": key, "pub": pub, "patch": patch, "data": patch.to_bytes()}


def _agent(tmp_path, env):
    return UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]], env["base"])


def _assert_unchanged(tmp_path, agent, env):
    assert agent.model.hash() == env["base"].hash() and agent.active_slot() == "A"
    assert not (tmp_path / "cf1" / "pending.patch").exists()
    assert not (tmp_path / "cf1" / "slots" / "B.safetensors").exists()


def test_the_installed_model_is_the_encoders_reconstruction_bit_for_bit(tmp_path, env):
    encoder = env["patch"].apply_to(env["base"])          # what the builder hashed and probed
    assert env["patch"].manifest["format"] == FORMAT_QDELTA
    assert encoder.hash() == env["patch"].manifest["result_hash"] != env["tuned"].hash()
    agent = _agent(tmp_path, env)
    status = agent.offer(env["data"])
    assert status["state"] == "installed", status
    for name, a in encoder.tensors.items():
        assert agent.model.tensors[name].dtype == a.dtype and np.array_equal(agent.model.tensors[name], a), name
    decoded = Patch.from_bytes(env["data"]).decoded(env["base"])
    for name, codec in env["patch"].manifest["encoded"].items():
        err = np.abs(decoded[name] - env["tuned"].tensors[name]).reshape(len(decoded[name]), -1)
        if codec == QDELTA:     # within half a quantisation step of the fine-tuned weight, row by row
            step = env["patch"].tensors[name + ":scale"]
            assert np.all(err <= 0.5001 * step[:, None] + 1e-7), name
        else:
            assert not err.any(), name


def test_quantised_patches_are_much_smaller_and_float_ones_still_install(tmp_path, env):
    plain = build(env["base"], env["tuned"], FROZEN, "2", "*").sign(env["key"]).to_bytes()
    assert json.loads(read_metadata(plain, "p")["manifest"])["format"] == FORMAT
    assert len(env["data"]) < len(plain) / 4
    agent = _agent(tmp_path, env)
    assert agent.offer(plain)["state"] == "installed"
    assert agent.model.hash() == env["tuned"].hash()


def _tamper_blob(data: bytes) -> bytes:
    meta, tensors = read_metadata(data, "patch"), dict(st_load(data))
    blob = tensors["fc1.weight:q"].copy()
    blob[len(blob) // 2] ^= 0x01
    tensors["fc1.weight:q"] = blob
    return st_save(tensors, metadata=meta)


def _tamper_scale(data: bytes) -> bytes:
    meta, tensors = read_metadata(data, "patch"), dict(st_load(data))
    tensors["head.weight:scale"] = tensors["head.weight:scale"] * np.float32(1.01)
    return st_save(tensors, metadata=meta)


def _tamper_codec(data: bytes) -> bytes:
    meta = read_metadata(data, "patch")
    m = json.loads(meta["manifest"])
    m["encoded"]["fc1.weight"] = "f32"
    meta["manifest"] = json.dumps(m)
    return st_save(st_load(data), metadata=meta)


@pytest.mark.parametrize("tamper, reason", [(_tamper_blob, "does not match its signed hash"),
                                            (_tamper_scale, "does not match its signed hash"),
                                            (_tamper_codec, "manifest field")])
def test_a_tampered_quantised_patch_is_refused_and_the_model_stays(tmp_path, env, tamper, reason):
    agent = _agent(tmp_path, env)
    status = agent.offer(tamper(env["data"]))
    assert status["state"] == "refused" and reason in status["reason"], status
    _assert_unchanged(tmp_path, agent, env)


def _signed_blob(env, blob: np.ndarray) -> bytes:
    """A validly signed patch whose fc1 delta is `blob` (a builder bug or a stolen key)."""
    patch = build(env["base"], env["tuned"], FROZEN, "2", "*", quantise=True)
    patch.tensors["fc1.weight:q"] = blob
    patch.manifest["tensors"]["fc1.weight:q"] = tensor_digest(blob)
    return patch.sign(env["key"]).to_bytes()


@pytest.mark.parametrize("blob, reason", [
    (np.frombuffer(b"not deflate at all", np.uint8), "does not inflate"),
    (np.frombuffer(__import__("zlib").compress(bytes(10)), np.uint8), "exactly 16384"),
    (np.frombuffer(__import__("zlib").compress(bytes(10 ** 6)), np.uint8), "exactly 16384"),
    (np.zeros(8, np.float32), "1-D uint8"),
])
def test_a_signed_quantised_part_that_does_not_decode_is_refused(tmp_path, env, blob, reason):
    agent = _agent(tmp_path, env)
    status = agent.offer(_signed_blob(env, blob))
    assert status["state"] == "refused" and reason in status["reason"] and "\n" not in status["reason"], status
    _assert_unchanged(tmp_path, agent, env)


def test_a_quantised_manifest_must_name_every_codec(tmp_path, env):
    patch = build(env["base"], env["tuned"], FROZEN, "2", "*", quantise=True)
    del patch.manifest["encoded"]["fc1.bias"]
    agent = _agent(tmp_path, env)
    status = agent.offer(patch.sign(env["key"]).to_bytes())
    assert status["state"] == "refused" and "manifest field 'encoded'" in status["reason"], status
    _assert_unchanged(tmp_path, agent, env)


def test_a_grown_head_is_a_delta_from_the_base_rows_then_zeros(env):
    base = env["base"].tensors["head.weight"]
    ref = reference(base, (base.shape[0] + 3, base.shape[1]))
    assert np.array_equal(ref[:len(base)], base) and not ref[len(base):].any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantising_costs_at_most_half_a_point_of_accuracy(env, seed):
    """Every layer retrained (what the quantised patch ships), on a tenth of the recipe's data for
    two epochs to keep the test short; judged on the benchmark's held-out test set. The benchmark
    measures the full recipe against full retraining."""
    x, y = tune_data(seed)
    pick = np.random.default_rng(seed).choice(len(y), len(y) // 10, replace=False)
    tuned = fine_tune(env["base"], ALL_CLASSES, x[pick], y[pick], 0, epochs=2, seed=seed)
    tuned.version = "2"
    result = build(env["base"], tuned, (), "2", "*", quantise=True).apply_to(env["base"])
    assert result.hash() != tuned.hash()
    x, y = held_out_data(0)
    loss = 100 * (np.mean(tuned.predict(x) == y) - np.mean(result.predict(x) == y))
    assert loss <= 0.5, f"seed {seed}: quantising lost {loss:.2f} points"
