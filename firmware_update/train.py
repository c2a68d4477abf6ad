"""Training and layer-frozen fine-tuning of the perception model, in numpy (no torch needed).

Plain mini-batch Adam on softmax cross-entropy, reproducible from a seed. Fine-tuning to new
classes keeps the old head rows, appends new rows, and trains only the layers not frozen; frozen
layers are neither updated nor back-propagated into (so they stay bit-identical to the base).
Torch is deliberately not used: the drone side must not need it, and a numpy trainer keeps the
shipped weights reproducible with `swarm-ros patch train` on any machine.
"""
from __future__ import annotations

import numpy as np

from .model import CONVS, LAYERS, Model, classify, forward, layer_of


def _col2im(dcols: np.ndarray, shape) -> np.ndarray:
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + w] += d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1]


def _unpool(dp: np.ndarray, a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gradient of 2x2 max-pool: to the position(s) of the maximum."""
    up = np.repeat(np.repeat(p, 2, axis=2), 2, axis=3)
    mask = a == up
    return mask * np.repeat(np.repeat(dp, 2, axis=2), 2, axis=3)


def gradients(t: dict, images: np.ndarray, labels: np.ndarray, trainable) -> tuple[float, dict]:
    """Mean cross-entropy and its gradient for the tensors of the `trainable` layers.
    With every convolution frozen, `images` may be their (cached) flattened features."""
    logits, (cache, flat, h1) = (forward if images.ndim == 4 else classify)(t, images, keep=True)
    n = len(labels)
    z = logits - logits.max(axis=1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    loss = float(-np.log(prob[np.arange(n), labels] + 1e-12).mean())
    d = prob
    d[np.arange(n), labels] -= 1
    d /= n
    g = {}
    first = min(LAYERS.index(name) for name in trainable)       # nothing below it needs a gradient
    if "head" in trainable:
        g["head.weight"], g["head.bias"] = d.T @ h1, d.sum(0)
    if first > LAYERS.index("fc1"):
        return loss, g
    dz1 = (d @ t["head.weight"]) * (h1 > 0)
    if "fc1" in trainable:
        g["fc1.weight"], g["fc1.bias"] = dz1.T @ flat, dz1.sum(0)
    if first >= LAYERS.index("fc1"):
        return loss, g
    dx = (dz1 @ t["fc1.weight"]).reshape(cache[-1][3].shape)
    for k in range(len(CONVS) - 1, first - 1, -1):
        name, _, cout, pool = CONVS[k]
        xshape, cols, a, p = cache[k]
        dz = (_unpool(dx, a, p) if pool else dx) * (a > 0)
        dzf = dz.transpose(0, 2, 3, 1).reshape(-1, cout)
        if name in trainable:
            g[f"{name}.weight"] = (dzf.T @ cols).reshape(t[f"{name}.weight"].shape)
            g[f"{name}.bias"] = dzf.sum(0)
        if k > first:
            dx = _col2im(dzf @ t[f"{name}.weight"].reshape(cout, -1), xshape)
    return loss, g


def fit(model: Model, images, labels, trainable=LAYERS, epochs: int = 8, batch: int = 64,
        lr: float = 3e-3, seed: int = 0) -> Model:
    """A new Model trained with Adam; tensors of layers not in `trainable` are the same objects."""
    trainable = tuple(trainable)
    t = {k: v if layer_of(k) not in trainable else v.copy() for k, v in model.tensors.items()}
    m = {k: np.zeros_like(v) for k, v in t.items() if layer_of(k) in trainable}
    s = {k: np.zeros_like(v) for k in m for v in (t[k],)}
    if min(LAYERS.index(name) for name in trainable) >= LAYERS.index("fc1"):   # frozen convolutions: compute them once
        images = np.concatenate([forward_features(t, images[i:i + 1000]) for i in range(0, len(images), 1000)])
    rng = np.random.default_rng(seed)
    step, b1, b2 = 0, 0.9, 0.999
    for epoch in range(epochs):
        rate = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))  # cosine decay per epoch
        order = rng.permutation(len(labels))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            _, g = gradients(t, images[idx], labels[idx], trainable)
            step += 1
            for k, gk in g.items():
                m[k] = b1 * m[k] + (1 - b1) * gk
                s[k] = b2 * s[k] + (1 - b2) * gk * gk
                mh, sh = m[k] / (1 - b1 ** step), s[k] / (1 - b2 ** step)
                t[k] = (t[k] - rate * mh / (np.sqrt(sh) + 1e-8)).astype(np.float32)
    return Model(t, model.classes, model.version)


def forward_features(t: dict, images: np.ndarray) -> np.ndarray:
    cache = forward(t, images, keep=True)[1]
    return cache[1]


def extend_head(model: Model, classes, seed: int) -> Model:
    """The model with output rows for `classes` (old ones first, kept; new rows small random)."""
    classes = tuple(classes)
    if classes[:len(model.classes)] != model.classes:
        raise ValueError(f"new classes {classes} must start with the model's {model.classes}")
    extra = len(classes) - len(model.classes)
    rng = np.random.default_rng(seed)
    t = dict(model.tensors)
    t["head.weight"] = np.concatenate(
        [t["head.weight"], rng.normal(0, 0.05, (extra, t["head.weight"].shape[1])).astype(np.float32)])
    t["head.bias"] = np.concatenate([t["head.bias"], np.zeros(extra, np.float32)])
    return Model(t, classes, model.version)


def fine_tune(base: Model, classes, images, labels, frozen: int, epochs: int = 8, seed: int = 0) -> Model:
    """Freeze the first `frozen` layers of `base`, grow the head to `classes`, train the rest."""
    if not 0 <= frozen < len(LAYERS):
        raise ValueError(f"frozen layers must be 0..{len(LAYERS) - 1}, got {frozen}")
    start = extend_head(base, classes, seed)
    return fit(start, images, labels, LAYERS[frozen:], epochs=epochs, seed=seed)


def accuracy(model: Model, images, labels, batch: int = 1000) -> float:
    pred = np.concatenate([model.predict(images[i:i + batch]) for i in range(0, len(labels), batch)])
    return float((pred == labels).mean())
