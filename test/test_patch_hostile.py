"""Hostile (even validly signed) manifests never brick the update state: the manifest is checked
whole before anything is staged, the self-test fails rather than crashes, and an agent started on
a state a crash left behind (active slot never self-tested, staged patch unusable) rolls back."""
from __future__ import annotations

import json

import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from firmware_update.agent import UpdateAgent
from firmware_update.atomic import write_atomic
from firmware_update.model import read_metadata
from firmware_update.patch import Patch, PatchRefused, build, check_manifest, self_test, verify
from patch_helpers import FROZEN, SCOUT, keypair, models


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base, tuned = models()
    key, pub = keypair(tmp_path_factory.mktemp("keys"))
    return {"base": base, "tuned": tuned, "key": key, "pub": pub}


def _probe(m, **kw):
    m["probe"] = {**m["probe"], **kw}


MUTATIONS = {
    "probe labels empty": lambda m: _probe(m, labels=[]),
    "probe labels short": lambda m: _probe(m, labels=m["probe"]["labels"][:10]),
    "probe label out of range": lambda m: _probe(m, labels=[99] * len(m["probe"]["labels"])),
    "probe label negative": lambda m: _probe(m, labels=[-1] * len(m["probe"]["labels"])),
    "probe label a bool": lambda m: _probe(m, labels=[True] * len(m["probe"]["labels"])),
    "probe seed negative": lambda m: _probe(m, seed=-5),
    "probe seed huge": lambda m: _probe(m, seed=10 ** 30),
    "probe a list": lambda m: m.update(probe=[1, 2]),
    "classes unknown": lambda m: m.update(classes=m["classes"][:-1] + ["dragon"]),
    "classes repeated": lambda m: m.update(classes=m["classes"][:-1] + [m["classes"][0]]),
    "layers unknown": lambda m: m.update(layers=m["layers"] + ["conv9"]),
    "layers also frozen": lambda m: m.update(frozen=m["frozen"] + ["head"]),
    "layers empty": lambda m: m.update(layers=[]),
    "result hash not hex": lambda m: m.update(result_hash="zz" * 32),
    "base hash short": lambda m: m.update(base_hash="ab"),
    "tensor of a frozen layer": lambda m: m["tensors"].update({"conv1.weight": "0" * 64}),
    "format other": lambda m: m.update(format="something-else"),
    "target huge": lambda m: m.update(target="type=cf," * 5000),
    "key id a number": lambda m: m.update(key_id=7),
}


def _signed_with(env, mutate) -> bytes:
    """A patch whose manifest is mutated *before* signing: the signature is valid."""
    patch = build(env["base"], env["tuned"], FROZEN, "2", "*")
    mutate(patch.manifest)
    patch.sign(env["key"])
    if "key_id" in patch.manifest and mutate is MUTATIONS["key id a number"]:
        patch.manifest["key_id"] = 7
        patch.signature = env["key"].sign(patch.message())
    return patch.to_bytes()


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_signed_malformed_manifest_is_refused_before_staging(tmp_path, env, case):
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]], env["base"])
    slot_a = (tmp_path / "cf1" / "slots" / "A.safetensors").read_bytes()
    status = agent.offer(_signed_with(env, MUTATIONS[case]))
    assert status["state"] == "refused" and "manifest field" in status["reason"] and "\n" not in status["reason"]
    assert agent.model.hash() == env["base"].hash() and agent.active_slot() == "A"
    assert not (tmp_path / "cf1" / "pending.patch").exists()
    assert not (tmp_path / "cf1" / "slots" / "B.safetensors").exists()
    assert (tmp_path / "cf1" / "slots" / "A.safetensors").read_bytes() == slot_a
    assert UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]]).model.hash() == env["base"].hash()


def test_the_shipped_builder_passes_the_whole_check(env):
    patch = build(env["base"], env["tuned"], FROZEN, "2", "type=cf,role=scout").sign(env["key"])
    assert check_manifest(Patch.from_bytes(patch.to_bytes()).manifest) == patch.manifest


def test_a_self_test_that_cannot_run_is_a_failure_not_a_crash(env):
    for probe in ({"seed": 1, "labels": []}, {"seed": 1, "labels": [0] * 3}, {"seed": "x", "labels": []}, None):
        reason = self_test(env["tuned"], {"probe": probe})
        assert reason.startswith("self-test") and "\n" not in reason


def _bricked(tmp_path, env, data: bytes):
    """The state a crash in the post-apply check left: slot B holds the result, `active` names it
    before any self-test passed, and the patch is still staged."""
    state = tmp_path / "cf1"
    UpdateAgent(state, SCOUT, [env["pub"]], env["base"])
    env["tuned"].save(state / "slots" / "B.safetensors")
    write_atomic(state / "active", b"B")
    write_atomic(state / "pending.patch", data)
    return state


def test_start_up_rolls_back_an_active_slot_staged_by_an_unusable_patch(tmp_path, env):
    state = _bricked(tmp_path, env, _signed_with(env, MUTATIONS["probe labels empty"]))
    agent = UpdateAgent(state, SCOUT, [env["pub"]])
    assert agent.status["state"] == "rolled_back" and "probe" in agent.status["reason"]
    assert agent.model.hash() == env["base"].hash() and (state / "active").read_text() == "A"
    assert not (state / "pending.patch").exists()
    assert agent.offer(_signed_with(env, lambda m: None))["state"] == "installed"    # updates still work
    assert UpdateAgent(state, SCOUT, [env["pub"]]).model.hash() == env["tuned"].hash()


def test_start_up_rolls_back_an_active_slot_that_fails_its_self_test(tmp_path, env):
    def wrong(m):
        n = len(m["classes"])
        _probe(m, labels=[(v + 1) % n for v in m["probe"]["labels"]])
    state = _bricked(tmp_path, env, _signed_with(env, wrong))
    agent = UpdateAgent(state, SCOUT, [env["pub"]])
    assert agent.status["state"] == "rolled_back" and "self-test" in agent.status["reason"]
    assert agent.model.hash() == env["base"].hash() and (state / "active").read_text() == "A"
    assert not (state / "pending.patch").exists()


def test_a_staged_patch_damaged_on_disk_is_dropped(tmp_path, env):
    state = tmp_path / "cf1"
    UpdateAgent(state, SCOUT, [env["pub"]], env["base"])
    write_atomic(state / "pending.patch", b"\x00" * 100)
    agent = UpdateAgent(state, SCOUT, [env["pub"]])
    assert agent.status["state"] == "refused" and agent.model.hash() == env["base"].hash()
    assert not (state / "pending.patch").exists()
    with pytest.raises(PatchRefused):
        Patch.from_bytes(b"\x00" * 100)


# --- versions, exact signed bytes, nesting ------------------------------------------------------

BAD_VERSIONS = ["2.0", "2_0", "02", "\u0662", "\u00b2", "２", " 2", "2 ", "+2", "-1", "1e3", "", "4294967296",
                "9" * 5000]


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_version_is_a_plain_non_negative_integer(tmp_path, env, version):
    with pytest.raises(PatchRefused, match="plain non-negative integer"):
        build(env["base"], env["tuned"], FROZEN, version, "*")
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]], env["base"])
    status = agent.offer(_signed_with(env, lambda m: m.update(version=version)))
    assert status["state"] == "refused" and "manifest field 'version'" in status["reason"]
    assert "\n" not in status["reason"] and agent.model.hash() == env["base"].hash()


def test_wire_versions_order_as_the_integers(env):
    from firmware_update.patch import wire_version
    assert [wire_version(v) for v in ("0", "2", "3", "19", "20", "4294967295")] == [0, 2, 3, 19, 20, 2 ** 32 - 1]


def _reship(data: bytes, text: str) -> bytes:
    """The same tensors and signature with the manifest text replaced."""
    meta = read_metadata(data, "patch")
    meta["manifest"] = text
    return st_save(st_load(data), metadata=meta)


def _meta_manifest(data: bytes) -> str:
    return read_metadata(data, "patch")["manifest"]


def test_the_signature_covers_the_exact_manifest_bytes(tmp_path, env):
    data = _signed_with(env, lambda m: None)
    text = _meta_manifest(data)
    same = json.loads(text)
    variants = {
        "re-indented": json.dumps(same, indent=2, sort_keys=True),
        "re-ordered": json.dumps(dict(reversed(list(same.items()))), separators=(",", ":")),
        "spaced": text.replace(",", ", "),
    }
    for name, variant in variants.items():
        assert json.loads(variant) == same, name
        with pytest.raises(PatchRefused, match="signature does not verify"):
            verify(Patch.from_bytes(_reship(data, variant)), [env["pub"]])
        agent = UpdateAgent(tmp_path / name, SCOUT, [env["pub"]], env["base"])
        assert agent.offer(_reship(data, variant))["state"] == "refused", name
    assert verify(Patch.from_bytes(data), [env["pub"]]) is None        # the shipped bytes verify


def test_a_manifest_with_a_repeated_key_is_refused(tmp_path, env):
    data = _signed_with(env, lambda m: None)
    text = _meta_manifest(data)
    twice = text[:-1] + ',"version":"2"}'
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]], env["base"])
    status = agent.offer(_reship(data, twice))
    assert status["state"] == "refused" and "appears twice" in status["reason"]


def test_deeply_nested_json_is_refused_in_one_line(tmp_path, env):
    from firmware_update.patch import FORMAT
    deep = "[" * 20_000 + "]" * 20_000
    tensors = st_load(_signed_with(env, lambda m: None))
    header_deep = b'{"__metadata__":{"format":"x"},"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    header_int = b'{"__metadata__":{"format":"%s","manifest":5}}' % FORMAT.encode()
    with pytest.raises(PatchRefused, match="'manifest' is missing or not a string"):
        Patch.from_bytes(len(header_int).to_bytes(8, "little") + header_int)
    cases = {"manifest": st_save(tensors, metadata={"format": FORMAT, "manifest": deep}),
             "header": len(header_deep).to_bytes(8, "little") + header_deep}
    agent = UpdateAgent(tmp_path / "cf1", SCOUT, [env["pub"]], env["base"])
    for name, data in cases.items():
        with pytest.raises(PatchRefused, match=r"nested (20000|100001) deep"):
            Patch.from_bytes(data)
        status = agent.offer(data)
        assert status["state"] == "refused" and "\n" not in status["reason"], name
    assert agent.model.hash() == env["base"].hash() and not (tmp_path / "cf1" / "pending.patch").exists()
