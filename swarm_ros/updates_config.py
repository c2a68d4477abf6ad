"""The optional `updates` section of a mission: model patches reach drones during the flight.

    updates:
      keys: [../keys/ops.pub]      # trusted Ed25519 public keys (PEM), relative to the mission file
      model: base                  # the model every drone starts with: a safetensors file, or
                                   # `base` for the shipped perception model
      server: {position: [0, 0, 1], range: 30}   # the update server (ground station) on the radio
      state: runs/updates          # folder of each drone's A/B slots and staged chunks, relative
                                   # to the mission file (not to the working directory)
      chunk_size: 1024             # bytes per SwarmSync chunk

With it, every drone node runs an update agent and SwarmSync participant, the launcher starts
an update server node, and the simulator carries update packets with the mission's radio model
(range and loss; latency is not applied to update packets). `swarm-ros patch push` hands a
signed patch to the server, `swarm-ros patch status` prints what each drone runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .core.configfile import ConfigError, ListOf, Number, Section, Text, Vector
from .core.plausible import plausible

PACKAGED_MODEL = Path(__file__).resolve().parent.parent / "firmware_update" / "models" / "base.safetensors"


@dataclass(frozen=True)
class UpdatesSpec:
    keys: tuple[Path, ...]
    model: Path
    server_position: tuple[float, float, float]
    server_range: float
    state: Path
    chunk_size: int


def _path(section: Section, text: str) -> Path:
    p = Path(text)
    return p if p.is_absolute() else (Path(section.file).parent / p).resolve()


def _check_keys(sec: Section, keys) -> None:
    """Each key file must hold an Ed25519 public key, as the drones' update agents will load it."""
    from firmware_update.patch import PatchRefused, load_public_key
    for k, path in enumerate(keys):
        try:
            load_public_key(path)
        except PatchRefused as err:
            raise sec.error(f"keys[{k}]", " ".join(str(err).split()), "paths to PEM Ed25519 public keys "
                            "(swarm-ros patch keygen writes them), relative to the mission file") from None


def _check_model(sec: Section, model: Path) -> None:
    """The start model must load as the drones will load it (architecture, tensors, hash)."""
    from firmware_update.model import Model, ModelError
    try:
        Model.load(model)
    except (ModelError, OSError) as err:
        raise sec.error("model", " ".join(str(err).split()), "`base` or a safetensors model of the "
                        "perception architecture, relative to the mission file") from None


def read_updates(top: Section) -> UpdatesSpec | None:
    if not top.has("updates"):
        return None
    sec = top.section("updates")
    keys = tuple(_path(sec, k) for k in sec.get("keys", ListOf(Text(), min_len=1)))
    for k in keys:
        if not k.is_file():
            raise ConfigError(sec.file, "updates.keys", f"key file {k} not found",
                              "paths to PEM public keys, relative to the mission file")
    _check_keys(sec, keys)
    model_text = sec.get("model", Text(), "base")
    model = PACKAGED_MODEL if model_text == "base" else _path(sec, model_text)
    if not model.is_file():
        raise ConfigError(sec.file, "updates.model", f"model file {model} not found",
                          "`base` or a path to a safetensors model, relative to the mission file")
    _check_model(sec, model)
    server = sec.section("server", required=False)
    position = server.get("position", Vector(3), (0.0, 0.0, 1.0))
    rng = server.get("range", plausible("updates.server.range"), 30.0)
    # Like keys and model: relative to the mission file, so every process of a run and every later
    # run (launched from any directory) finds the same installed models and staged chunks.
    state = _path(sec, sec.get("state", Text(), "runs/updates"))
    chunk = sec.get("chunk_size", Number(64, 60000, integer=True), 1024)
    sec.finish()
    return UpdatesSpec(keys, model, tuple(position), rng, state, chunk)
