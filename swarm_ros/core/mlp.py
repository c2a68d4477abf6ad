"""Policy files: a small multilayer perceptron as safetensors, evaluated in numpy (no torch, no pickle).

A file holds tensors `layer<i>.weight` (out, in) and `layer<i>.bias` (out,) for i = 0..L-1, and
string metadata:
  format        "swarm_ros.mlp/1"
  k             neighbours in the local observation (control/policy.py); the input width is 6 + 6k
  activation    hidden-layer nonlinearity: tanh or relu (the output layer is always tanh)
  input_scale   the observation is multiplied by this before the first layer
  action_scale  the tanh output is multiplied by this (<= 1) to give the action in [-1, 1]
  sensing       m: the policy was trained seeing only neighbours closer than this (inf: all)
  trained_by    free text (how the weights were made), optional
A loaded file is checked whole (shapes chain, input width matches k, 3 outputs, finite numbers),
so a broken file fails when the mission is read, not in flight.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as st_save

from .observation import obs_size

FORMAT = "swarm_ros.mlp/1"
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


class PolicyFileError(ValueError):
    """A policy file that cannot be used: the message says what is wrong with it."""


@dataclass(frozen=True)
class MLP:
    weights: tuple          # ((W0, b0), (W1, b1), ...), W: (out, in)
    k: int
    activation: str = "tanh"
    input_scale: float = 1.0
    action_scale: float = 1.0
    sensing: float = math.inf
    info: dict = field(default_factory=dict)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0][0].shape[1]] + [w.shape[0] for w, _ in self.weights]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Actions (N, 3) in [-1, 1] for local observations (N, 6 + 6k)."""
        h = np.asarray(obs, np.float64) * self.input_scale
        act = ACTIVATIONS[self.activation]
        for i, (w, b) in enumerate(self.weights):
            h = h @ w.T + b
            h = act(h) if i < len(self.weights) - 1 else np.tanh(h)
        return np.clip(self.action_scale * h, -1.0, 1.0)

    def to_bytes(self) -> bytes:
        tensors = {}
        for i, (w, b) in enumerate(self.weights):
            tensors[f"layer{i}.weight"] = np.ascontiguousarray(w, np.float32)
            tensors[f"layer{i}.bias"] = np.ascontiguousarray(b, np.float32)
        meta = {"format": FORMAT, "k": str(self.k), "activation": self.activation,
                "input_scale": repr(float(self.input_scale)), "action_scale": repr(float(self.action_scale)),
                "sensing": repr(float(self.sensing)),
                **{key: str(v) for key, v in self.info.items()}}
        return st_save(tensors, metadata=meta)

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path


def _number(meta: dict, key: str, lo: float, hi: float, default=None) -> float:
    raw = meta.get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PolicyFileError(f"metadata {key}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise PolicyFileError(f"metadata {key}={raw!r} is outside {lo:g} .. {hi:g}")
    return value


def load_mlp(path) -> MLP:
    """Read and check a policy file; PolicyFileError says what is wrong."""
    if not Path(path).is_file():
        raise PolicyFileError("not found")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise PolicyFileError(f"not a readable safetensors file ({err})") from None
    if meta.get("format") != FORMAT:
        raise PolicyFileError(f"format {meta.get('format')!r} is not {FORMAT!r}")
    k = meta.get("k", "")
    if not k.isdigit() or int(k) > 64:
        raise PolicyFileError(f"metadata k={k!r} is not an integer 0..64")
    activation = meta.get("activation")
    if activation not in ACTIVATIONS:
        raise PolicyFileError(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    layers = len(tensors) // 2
    names = {f"layer{i}.{part}" for i in range(layers) for part in ("weight", "bias")}
    if not layers or set(tensors) != names:
        raise PolicyFileError(f"tensors {sorted(tensors)} are not layer0..layer<L-1> .weight and .bias")
    weights = tuple((tensors[f"layer{i}.weight"].astype(np.float64), tensors[f"layer{i}.bias"].astype(np.float64))
                    for i in range(layers))
    width = obs_size(int(k))
    for i, (w, b) in enumerate(weights):
        if w.ndim != 2 or b.shape != (w.shape[0],) or w.shape[1] != width:
            raise PolicyFileError(f"layer{i} has weight {list(w.shape)} and bias {list(b.shape)}: "
                                  f"expected [out, {width}] and [out]")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise PolicyFileError(f"layer{i} holds NaN or infinite numbers")
        width = w.shape[0]
    if width != 3:
        raise PolicyFileError(f"the last layer gives {width} outputs, not 3 (an action)")
    known = ("format", "k", "activation", "input_scale", "action_scale", "sensing")
    info = {key: v for key, v in meta.items() if key not in known}
    return MLP(weights, int(k), activation, _number(meta, "input_scale", 1e-6, 1e6, 1.0),
               _number(meta, "action_scale", 0.0, 1.0, 1.0), _number(meta, "sensing", 0.0, math.inf, "inf"), info)

