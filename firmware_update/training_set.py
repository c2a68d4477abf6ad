"""The recipe that produces the shipped models: data set sizes, epochs and seeds in one place.

`swarm-ros patch train` and bench/bench_patch.py both call it, so the shipped weights in
firmware_update/models/ are what the benchmark measures and can be regenerated exactly.
"""
from __future__ import annotations

from .model import Model
from .shapes import ALL_CLASSES, BASE_CLASSES, dataset
from .train import fine_tune, fit

BASE_PER_CLASS, BASE_EPOCHS = 800, 10          # base model: 12 shapes
TUNE_PER_CLASS, TUNE_EPOCHS = 800, 12          # mission update: the 12 old shapes + 3 new ones
TEST_PER_CLASS = 300
BASE_VERSION, TUNED_VERSION = "1", "2"


def train_base(seed: int = 0) -> Model:
    x, y, _ = dataset(BASE_CLASSES, BASE_PER_CLASS, seed + 1)
    model = fit(Model.init(BASE_CLASSES, seed), x, y, epochs=BASE_EPOCHS, seed=seed)
    model.version = BASE_VERSION
    return model


def tune_data(seed: int = 0):
    return dataset(ALL_CLASSES, TUNE_PER_CLASS, seed + 2)[:2]


def test_data(seed: int = 0):
    return dataset(ALL_CLASSES, TEST_PER_CLASS, seed + 98)[:2]


def tune(base: Model, frozen: int, seed: int = 0, epochs: int = TUNE_EPOCHS) -> Model:
    x, y = tune_data(seed)
    model = fine_tune(base, ALL_CLASSES, x, y, frozen, epochs=epochs, seed=seed)
    model.version = TUNED_VERSION
    return model


def train_models(frozen: int = 4, seed: int = 0) -> tuple[Model, Model]:
    base = train_base(seed)
    return base, tune(base, frozen, seed)
