"""The on-board perception model: a small CNN that classifies 16x16 grey images, in pure numpy.

A drone runs, verifies and patches this model with numpy and safetensors only (no torch).
Model files are safetensors (never pickle) with metadata naming the architecture, the classes and
the version. The model hash covers the classes and every tensor's name, dtype, shape and bytes, so
two files with the same hash give the same outputs bit for bit.

Layers, in order (a "layer" is the unit a patch freezes or ships):
  conv1 3x3 1->16, ReLU, max-pool 2   conv2 3x3 16->32, ReLU, max-pool 2   conv3 3x3 32->64,
  ReLU, max-pool 2   conv4 3x3 64->64, ReLU (2x2)   fc1 256->64, ReLU   head 64->n_classes (logits)
Most parameters sit in the convolutions, as in the mobile CNNs drones fly (SqueezeNet and kin):
that is what makes shipping only the last layers pay.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .atomic import write_atomic

ARCH = "shapes-cnn-v1"
CONVS = (("conv1", 1, 16, True), ("conv2", 16, 32, True), ("conv3", 32, 64, True), ("conv4", 64, 64, False))
HIDDEN = 64
LAYERS = ("conv1", "conv2", "conv3", "conv4", "fc1", "head")


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and what is wrong."""


def shapes(n_classes: int) -> dict[str, tuple]:
    """Tensor name -> shape for a model with `n_classes` outputs."""
    out = {}
    for name, cin, cout, _ in CONVS:
        out[f"{name}.weight"], out[f"{name}.bias"] = (cout, cin, 3, 3), (cout,)
    flat = CONVS[-1][2] * 2 * 2                      # 16 px halved by each of three pools
    out["fc1.weight"], out["fc1.bias"] = (HIDDEN, flat), (HIDDEN,)
    out["head.weight"], out["head.bias"] = (n_classes, HIDDEN), (n_classes,)
    return out


def layer_of(tensor_name: str) -> str:
    return tensor_name.split(".", 1)[0]


@dataclass
class Model:
    tensors: dict[str, np.ndarray]
    classes: tuple[str, ...]
    version: str = "1"
    _hash: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def init(cls, classes, seed: int) -> "Model":
        """He-initialised weights, zero biases (the start of training from scratch)."""
        rng = np.random.default_rng(seed)
        t = {}
        for name, shape in shapes(len(classes)).items():
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            t[name] = (rng.normal(0, np.sqrt(2 / fan_in), shape) if name.endswith("weight")
                       else np.zeros(shape)).astype(np.float32)
        return cls(t, tuple(classes))

    def check(self, where: str = "model") -> "Model":
        want = shapes(len(self.classes))
        if set(self.tensors) != set(want):
            raise ModelError(f"{where}: tensors {sorted(self.tensors)} are not those of {ARCH} "
                             f"({sorted(want)})")
        for name, shape in want.items():
            a = self.tensors[name]
            if a.shape != shape or a.dtype != np.float32:
                raise ModelError(f"{where}: tensor {name} is {a.dtype}{list(a.shape)}, "
                                 f"expected float32{list(shape)}")
        return self

    def hash(self) -> str:
        if self._hash is None:
            self._hash = model_hash(self.tensors, self.classes)
        return self._hash

    def layer_tensors(self, layers) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.tensors.items() if layer_of(k) in set(layers)}

    def logits(self, images: np.ndarray) -> np.ndarray:
        return forward(self.tensors, images)[0]

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(images), axis=1)

    def n_params(self, layers=LAYERS) -> int:
        return sum(a.size for a in self.layer_tensors(layers).values())

    def to_bytes(self) -> bytes:
        meta = {"arch": ARCH, "classes": json.dumps(list(self.classes)), "version": self.version,
                "hash": self.hash()}
        return st_save({k: np.ascontiguousarray(v) for k, v in self.tensors.items()}, metadata=meta)

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "model") -> "Model":
        meta = read_metadata(data, where)
        if meta.get("arch") != ARCH:
            raise ModelError(f"{where}: architecture {meta.get('arch')!r} is not {ARCH!r}")
        try:
            classes = tuple(json.loads(meta["classes"]))
            tensors = st_load(data)
        except Exception as err:  # noqa: BLE001 - any decoding failure is a bad file
            raise ModelError(f"{where}: cannot read tensors ({err})") from None
        model = cls(tensors, classes, meta.get("version", "1")).check(where)
        if meta.get("hash") not in (None, model.hash()):
            raise ModelError(f"{where}: content hash {model.hash()[:12]} differs from the recorded "
                             f"{meta['hash'][:12]} (corrupted file)")
        return model

    @classmethod
    def load(cls, path) -> "Model":
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise ModelError(f"{path}: cannot read ({err.strerror})") from None
        return cls.from_bytes(data, str(path))

    def save(self, path) -> None:
        write_atomic(path, self.to_bytes())


def model_hash(tensors: dict[str, np.ndarray], classes) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"arch": ARCH, "classes": list(classes)}, sort_keys=True).encode())
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"\n{name}:{a.dtype.str}:{list(a.shape)}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


MAX_JSON_DEPTH = 32     # nesting of any JSON read from a model or patch file; real ones nest 2 deep
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def _no_repeats(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"key {next(k for k in keys if keys.count(k) > 1)[:40]!r} appears twice")
    return dict(pairs)


def parse_json(text) -> object:
    """json.loads for untrusted bytes: ValueError (not RecursionError, not a silent last-wins)
    for nesting deeper than MAX_JSON_DEPTH or an object with a repeated key."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    code = np.frombuffer(_JSON_STRING.sub(b'""', raw), dtype=np.uint8)
    depth = np.cumsum((code == ord("[")).astype(np.int64) + (code == ord("{")) - (code == ord("]")) - (code == ord("}")))
    if depth.size and depth.max() > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested {int(depth.max())} deep (at most {MAX_JSON_DEPTH})")
    return json.loads(raw, object_pairs_hook=_no_repeats)


def read_metadata(data: bytes, where: str) -> dict:
    """The `__metadata__` of safetensors bytes (8-byte little-endian header length, JSON header)."""
    try:
        n = int.from_bytes(data[:8], "little")
        if len(data) < 8 or n > len(data) - 8:
            raise ValueError("truncated header")
        return dict(parse_json(data[8:8 + n]).get("__metadata__") or {})
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as err:
        raise ModelError(f"{where}: not a safetensors file ({err})") from None


# --- numpy forward pass (the backward pass, for training, is in train.py) -------------------

def _im2col(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N*H*W, C*9): each row the 3x3 neighbourhood (zero padded) of one pixel."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = sliding_window_view(xp, (3, 3), axis=(2, 3))          # (N, C, H, W, 3, 3)
    return cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)


def _pool(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def forward(t: dict[str, np.ndarray], images: np.ndarray, keep: bool = False):
    """Logits (N, n_classes); with keep=True also the intermediate values training needs."""
    x = np.asarray(images, dtype=np.float32)
    cache = []
    for name, _, cout, pool in CONVS:
        n, _, h, w = x.shape
        cols = _im2col(x)
        z = cols @ t[f"{name}.weight"].reshape(cout, -1).T + t[f"{name}.bias"]
        z = z.reshape(n, h, w, cout).transpose(0, 3, 1, 2)
        a = np.maximum(z, 0)
        p = _pool(a) if pool else a
        if keep:
            cache.append((x.shape, cols, a, p))
        x = p
    return classify(t, x.reshape(len(x), -1), keep, cache)


def classify(t: dict[str, np.ndarray], flat: np.ndarray, keep: bool = False, cache=None):
    """The fully connected part on the flattened convolution features."""
    z1 = flat @ t["fc1.weight"].T + t["fc1.bias"]
    h1 = np.maximum(z1, 0)
    logits = h1 @ t["head.weight"].T + t["head.bias"]
    return logits, (cache, flat, h1) if keep else None
