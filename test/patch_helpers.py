"""Shared setup of the model-patch tests: the shipped models, keys, and patches built from them."""
from __future__ import annotations

from pathlib import Path

from firmware_update.model import Model
from firmware_update.patch import build, generate_key, load_private_key, load_public_key
from firmware_update.selector import DroneIdentity

MODELS = Path(__file__).resolve().parent.parent / "firmware_update" / "models"
FROZEN = ("conv1", "conv2", "conv3", "conv4")
SCOUT = DroneIdentity("cf1", "cf", "crazyflie_2.1", "scout", ("camera",))


def keypair(folder: Path, name: str = "k"):
    priv, pub = generate_key()
    (folder / f"{name}.key").write_bytes(priv)
    (folder / f"{name}.pub").write_bytes(pub)
    return load_private_key(folder / f"{name}.key"), load_public_key(folder / f"{name}.pub")


def models() -> tuple[Model, Model]:
    return Model.load(MODELS / "base.safetensors"), Model.load(MODELS / "tuned.safetensors")


def signed(base, tuned, key, version="2", target="type=cf,role=scout", frozen=FROZEN) -> bytes:
    return build(base, tuned, frozen, version, target).sign(key).to_bytes()
