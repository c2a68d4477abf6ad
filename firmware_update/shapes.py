"""A procedural image data set for the on-board perception model: small grey images of shapes.

Nothing is downloaded: every image is drawn from a seed, so the base model, the fine-tuned model,
the patch self-test and the benchmark all see the same data on any machine. The base model knows
BASE_CLASSES; a mission update adds NEW_CLASSES (shapes that resemble old ones, so the new
classes really need new decision boundaries, not just a new label).
"""
from __future__ import annotations

import numpy as np

SIZE = 16
BASE_CLASSES = ("disk", "square", "triangle", "plus", "bar", "frame", "slash", "ellipse", "tee", "ell", "rails",
                "chevron")
NEW_CLASSES = ("ring", "diamond", "cross")
ALL_CLASSES = BASE_CLASSES + NEW_CLASSES


def _masks(u: np.ndarray, v: np.ndarray, r: np.ndarray, t: np.ndarray) -> dict:
    """Boolean masks of every shape on centred, rotated coordinates (arrays of shape (n, S, S))."""
    rho = np.hypot(u, v)
    uu, vv = (u + v) / np.sqrt(2), (u - v) / np.sqrt(2)       # axes turned by 45 degrees
    return {
        "disk": rho < r,
        "square": np.maximum(abs(u), abs(v)) < 0.8 * r,
        "triangle": (v > -0.6 * r) & (abs(u) < 0.65 * (0.9 * r - v)),
        "plus": ((abs(u) < t) & (abs(v) < r)) | ((abs(v) < t) & (abs(u) < r)),
        "bar": (abs(v) < t) & (abs(u) < r),
        "frame": (np.maximum(abs(u), abs(v)) < 0.8 * r) & (np.maximum(abs(u), abs(v)) > 0.8 * r - 1.6 * t),
        "slash": (abs(uu) < t) & (abs(vv) < r),
        "ellipse": np.hypot(u, 2 * v) < 1.2 * r,
        "tee": ((abs(u) < t) & (v > -r) & (v < 0.7 * r)) | ((abs(v - 0.7 * r) < t) & (abs(u) < r)),
        "ell": ((abs(u + 0.6 * r) < t) & (abs(v) < r)) | ((abs(v + 0.9 * r) < t) & (abs(u) < r)),
        "rails": ((abs(v - 0.5 * r) < 0.8 * t) | (abs(v + 0.5 * r) < 0.8 * t)) & (abs(u) < r),
        "chevron": (abs(v - (0.5 * r - abs(u))) < t) & (abs(u) < r),
        "ring": (rho < r) & (rho > r - 1.6 * t),
        "diamond": abs(u) + abs(v) < 1.1 * r,
        "cross": ((abs(uu) < t) & (abs(vv) < r)) | ((abs(vv) < t) & (abs(uu) < r)),
    }


def render(labels, classes=ALL_CLASSES, seed: int = 0) -> np.ndarray:
    """Images (n, 1, SIZE, SIZE) float32 in about [0, 1] of the given class indices into `classes`."""
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    rng = np.random.default_rng(seed)
    r = rng.uniform(3.5, 6.5, n)[:, None, None]
    t = rng.uniform(0.9, 1.6, n)[:, None, None]
    centre = rng.uniform(-2.0, 2.0, (n, 2))
    angle = rng.uniform(-0.3, 0.3, n)[:, None, None]
    grid = np.arange(SIZE) - (SIZE - 1) / 2
    x = grid[None, None, :] - centre[:, 0, None, None]
    y = grid[None, :, None] - centre[:, 1, None, None]
    u = np.cos(angle) * x + np.sin(angle) * y
    v = -np.sin(angle) * x + np.cos(angle) * y
    masks = _masks(u, v, r, t)
    shape = np.zeros((n, SIZE, SIZE), dtype=bool)
    for i, name in enumerate(classes):
        sel = labels == i
        if sel.any():
            shape[sel] = masks[name][sel]
    fg = rng.uniform(0.6, 1.0, n)[:, None, None]
    bg = rng.uniform(0.0, 0.25, n)[:, None, None]
    img = np.where(shape, fg, bg) + rng.normal(0.0, 0.08, (n, SIZE, SIZE))
    return img.astype(np.float32)[:, None]


def dataset(classes, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(images, labels, classes): `per_class` images of each class, shuffled, reproducible from `seed`."""
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(classes)), per_class))
    return render(labels, tuple(classes), seed + 1), labels, tuple(classes)


def camera_frame(name: str = NEW_CLASSES[0], seed: int = 0) -> np.ndarray:
    """One seeded image (1, 1, SIZE, SIZE) of class `name`: a stand-in camera, so a drone node keeps
    running its installed model (a frame of a new class shows which model answered)."""
    return render([ALL_CLASSES.index(name)], ALL_CLASSES, seed)
