"""The numpy trainer: gradients match finite differences, training is reproducible from a seed,
it learns, and frozen layers come out bit-identical."""
from __future__ import annotations

import numpy as np
import pytest

from firmware_update.model import LAYERS, Model
from firmware_update.shapes import ALL_CLASSES, BASE_CLASSES, dataset
from firmware_update.train import accuracy, fine_tune, fit, gradients


@pytest.mark.parametrize("tensor", ["conv1.weight", "conv2.bias", "conv3.weight", "conv4.bias", "fc1.weight",
                                    "head.weight"])
def test_gradient_matches_finite_differences(tensor):
    x, y, _ = dataset(BASE_CLASSES, 2, seed=3)
    t = {k: v.astype(np.float64) for k, v in Model.init(BASE_CLASSES, seed=1).tensors.items()}
    t = {k: v + (0.05 if k.endswith("bias") else 0.0) for k, v in t.items()}     # no dead ReLUs at zero
    _, g = gradients(t, x.astype(np.float64), y, LAYERS)
    rng = np.random.default_rng(0)
    for _ in range(3):
        idx = tuple(rng.integers(0, n) for n in t[tensor].shape)
        eps = 1e-6
        plus, minus = dict(t), dict(t)
        plus[tensor], minus[tensor] = t[tensor].copy(), t[tensor].copy()
        plus[tensor][idx] += eps
        minus[tensor][idx] -= eps
        numeric = (gradients(plus, x.astype(np.float64), y, LAYERS)[0]
                   - gradients(minus, x.astype(np.float64), y, LAYERS)[0]) / (2 * eps)
        assert g[tensor][idx] == pytest.approx(numeric, rel=1e-4, abs=1e-8)


def test_training_is_reproducible_and_learns():
    x, y, _ = dataset(BASE_CLASSES[:3], 24, seed=5)
    start = Model.init(BASE_CLASSES[:3], seed=2)
    a = fit(start, x, y, epochs=6, batch=12, seed=4)
    b = fit(start, x, y, epochs=6, batch=12, seed=4)
    assert a.hash() == b.hash() != start.hash()
    assert accuracy(a, x, y) > accuracy(start, x, y) + 0.2


def test_fine_tune_leaves_frozen_layers_bit_identical():
    base = Model.init(BASE_CLASSES, seed=2)
    x, y, _ = dataset(ALL_CLASSES, 6, seed=6)
    tuned = fine_tune(base, ALL_CLASSES, x, y, frozen=4, epochs=1)
    for name, a in tuned.tensors.items():
        same = a.shape == base.tensors[name].shape and np.array_equal(a, base.tensors[name])
        assert same == (name.split(".")[0] in LAYERS[:4]), name
    assert tuned.tensors["head.weight"].shape == (len(ALL_CLASSES), 64)
    with pytest.raises(ValueError, match="must start with"):
        fine_tune(base, ALL_CLASSES[::-1], x, y, frozen=4)
