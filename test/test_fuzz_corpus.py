"""A seeded fuzz corpus of hostile inputs: mission/fleet/world mutations, damaged bags and tampered
patches. Each must end in a one-line refusal (ConfigError, BagError, PatchRefused) or a correct
acceptance, never a traceback; memory and CPU time are bounded by resource limits on the worker
process that runs a class of cases (RLIMIT_AS, RLIMIT_CPU), not by timing assertions.

The worker prints one JSON line per case, and "start" before each, so a case that blows a limit
is named by the last line the worker wrote.
"""
from __future__ import annotations

import copy
import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = HERE / "config_errors"
MEMORY = 3 * 1024 ** 3          # bytes of address space per worker (numpy, scipy, rosbags loaded)
CPU_SECONDS = 240               # per worker, all of its cases together
SIZES = {"config": 400, "bag": 40, "patch": 40}

HOSTILE = [1e-300, -1e-300, 1e300, -1.0, 0, 10 ** 400, float("nan"), float("inf"), "", "x" * 300, [], {}, None,
           True, [1e300] * 3, [0, 0, -50], {"a": 1}, "/etc/passwd", "/proc", "/dev/null", "../" * 40 + "etc/passwd",
           [[[[[]]]]], "\u00e9\u4e2d\n\r", -(10 ** 30), 1e-9, 5.9]


def _leaves(node, path=()):
    """Every (path, value) in a nested dict/list, sub-trees included."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


def _set(root, path, value):
    node = root
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _delete(root, path):
    node = root
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]


def _mutate_text(rng: random.Random, text: str) -> str:
    op = rng.randrange(5)
    if op == 0:                                       # cut anywhere
        return text[:rng.randrange(len(text))]
    if op == 1:                                       # an alias bomb in front
        bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"] + [
            f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
        return "\n".join(bomb) + "\n" + text
    if op == 2:                                       # deep nesting
        return text + "deep: " + "[" * 2000 + "]" * 2000 + "\n"
    if op == 3:                                       # a line repeated (duplicate keys)
        lines = text.splitlines()
        k = rng.randrange(len(lines))
        return "\n".join(lines[:k + 1] + [lines[k]] + lines[k + 1:]) + "\n"
    data = bytearray(text.encode())                   # random bytes
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return data.decode("latin-1")


def config_case(rng: random.Random, folder: Path) -> Path:
    """A mission with its fleet and world beside it, one of the three mutated."""
    texts = {"m.yaml": (CORPUS / "valid_mission_own_files.yaml").read_text(),
             "valid_fleet.yaml": (CORPUS / "valid_fleet.yaml").read_text(),
             "valid_world.yaml": (CORPUS / "valid_world.yaml").read_text()}
    target = rng.choices(list(texts), weights=[6, 3, 2])[0]
    if rng.random() < 0.2:
        texts[target] = _mutate_text(rng, texts[target])
    else:
        data = yaml.safe_load(texts[target])
        paths = [p for p, _ in _leaves(data) if p]
        path = rng.choice(paths)
        op = rng.random()
        if op < 0.7:
            _set(data, path, copy.deepcopy(rng.choice(HOSTILE)))
        elif op < 0.85:
            _delete(data, path)
        else:
            node = data
            for p in path[:-1]:
                node = node[p]
            if isinstance(node, dict):
                node["unknown_" + str(rng.randrange(100))] = 1
            else:
                _set(data, path, copy.deepcopy(rng.choice(HOSTILE)))
        texts[target] = yaml.safe_dump(data, allow_unicode=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8", errors="surrogateescape")
    return folder / "m.yaml"


def run_config(case: int, folder: Path) -> dict:
    from swarm_ros.core.configfile import ConfigError
    from swarm_ros.mission import load_mission
    from swarm_ros.preflight import preflight
    path = config_case(random.Random(case), folder)
    try:
        preflight(load_mission(path), folder / "run")
        return {"outcome": "accepted"}
    except ConfigError as err:
        return {"outcome": "refused", "line": str(err)}


_BAG = {}


def _base_bag(folder: Path) -> Path:
    if "bag" not in _BAG:
        import numpy as np
        from bagfactory import drones_metadata, write_bag
        t = np.arange(0, 6, 0.02)
        pos = {n: np.stack([np.cos(t + k), np.sin(t + k), 1 + 0 * t], axis=1) for k, n in enumerate(["cf1", "cf2"])}
        _BAG["bag"] = write_bag(folder / "base", t, pos, metadata=drones_metadata(
            {"cf1": "crazyflie_2.1", "cf2": "crazyflie_2.1"}, mission_file="/etc/passwd"))
    return _BAG["bag"]


def run_bag(case: int, folder: Path) -> dict:
    from swarm_ros.analysis.bag import BagError
    from swarm_ros.analysis.metrics import analyze
    rng = random.Random(case)
    base = _base_bag(folder.parent)
    (mcap,) = base.glob("*.mcap")
    data = bytearray(mcap.read_bytes())
    bag = folder / "bag"
    bag.mkdir()
    op = rng.randrange(5)
    if op == 0:                                            # killed recorder: cut anywhere, no metadata
        data = data[:rng.randrange(len(data))]
    else:
        (bag / "metadata.yaml").write_text((base / "metadata.yaml").read_text())
        if op == 1:                                        # flipped bytes
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 2:                                      # a zeroed stretch
            a = rng.randrange(len(data))
            data[a:a + rng.randrange(1, 4096)] = bytes(min(len(data) - a, 4096))[:len(data[a:a + 4096])]
        elif op == 3:                                      # garbage appended, index then points wrong
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        else:                                              # metadata.yaml damaged
            text = (bag / "metadata.yaml").read_text()
            (bag / "metadata.yaml").write_text(_mutate_text(rng, text))
    (bag / mcap.name).write_bytes(bytes(data))
    try:
        an = analyze(bag)
        return {"outcome": "accepted", "notes": len(an.metrics["notes"])}
    except BagError as err:
        return {"outcome": "refused", "line": str(err)}


def run_patch(case: int, folder: Path) -> dict:
    from firmware_update.patch import Patch, PatchRefused, verify
    from patch_helpers import SCOUT, keypair, models, signed
    rng = random.Random(case)
    if "patch" not in _BAG:
        priv, pub = keypair(folder.parent)
        base, tuned = models()
        good = signed(base, tuned, priv)
        _BAG["patch"] = (pub, base, good, verify(Patch.from_bytes(good), [pub], base, SCOUT).hash())
    pub, base, good, expected = _BAG["patch"]
    before = base.hash()
    data = bytearray(good)
    op = rng.randrange(3)
    if op == 0:
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif op == 1:
        data = data[:rng.randrange(len(data))]
    else:                                                  # bytes flipped inside the manifest (header)
        head = int.from_bytes(data[:8], "little")
        for _ in range(rng.randrange(1, 4)):
            data[8 + rng.randrange(head)] ^= 1 << rng.randrange(7)
    try:
        result = verify(Patch.from_bytes(bytes(data)), [pub], base, SCOUT)
        outcome = {"outcome": "accepted", "same_model": result.hash() == expected}
    except PatchRefused as err:
        outcome = {"outcome": "refused", "line": str(err)}
    outcome["base_unchanged"] = base.hash() == before
    return outcome


RUNNERS = {"config": run_config, "bag": run_bag, "patch": run_patch}


def worker(kind: str, first: int, count: int, folder: str) -> None:
    """Run cases first..first+count-1 of a class; one JSON line each (a traceback is a finding)."""
    import traceback
    for case in range(first, first + count):
        here = Path(folder) / f"{kind}_{case}"
        here.mkdir(parents=True)
        print(json.dumps({"start": case}), flush=True)
        try:
            row = RUNNERS[kind](case, here)
        except BaseException as err:      # noqa: BLE001 -- anything else is what the corpus looks for
            row = {"outcome": "crash", "error": f"{type(err).__name__}: {err}"[:300],
                   "where": traceback.format_exc().splitlines()[-3:]}
        print(json.dumps({"case": case, **row}), flush=True)


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _run(kind: str, tmp_path) -> list[dict]:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    code = f"import test_fuzz_corpus as t; t.worker({kind!r}, 0, {SIZES[kind]}, {str(tmp_path)!r})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE, env=env,
                         preexec_fn=_limits, timeout=CPU_SECONDS * 3)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    done = [r for r in rows if "case" in r]
    last = rows[-1] if rows else {}
    assert out.returncode == 0 and len(done) == SIZES[kind], (
        f"worker stopped (rc {out.returncode}) at {last}: {out.stderr[-1500:]}")
    return done


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_fuzz_corpus(kind, tmp_path):
    rows = _run(kind, tmp_path)
    crashes = [r for r in rows if r["outcome"] == "crash"]
    assert not crashes, f"{len(crashes)} of {len(rows)} {kind} cases crashed, first: {crashes[0]}"
    refused = [r for r in rows if r["outcome"] == "refused"]
    for r in refused:                                   # every refusal is one line
        assert "\n" not in r["line"] and "\r" not in r["line"] and r["line"], r
    if kind == "patch":
        assert all(r["base_unchanged"] for r in rows)
        assert all(r["same_model"] for r in rows if r["outcome"] == "accepted")
    # the corpus does exercise the refusals (a generator that breaks nothing tests nothing)
    assert len(refused) >= len(rows) // 3
    print(f"{kind}: {len(rows)} cases, {len(refused)} refused in one line, {len(rows) - len(refused)} accepted, 0 crashes")
