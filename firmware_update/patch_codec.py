"""Quantised deltas: how a patch ships a layer's weights in a fraction of their float32 bytes.

A weight tensor is shipped as its difference from the drone's running (base) tensor, per output
row scaled to int8 steps of `rms(row) / resolution`, then deflated. Fine-tuning moves weights
much less than their own size, so the steps are fine where it matters and the int8 stream is
mostly small numbers that deflate well. Biases and scales stay float32 (they are tiny).

The decoder is the one function the encoder also uses to compute the model it signs
(`reconstruct`), so a drone rebuilds the signed result hash bit for bit; anything off --
wrong dtype, shape, a blob that inflates to the wrong length -- is a `CodecError`, never a
crash or an oversized allocation.
"""
from __future__ import annotations

import zlib

import numpy as np

QDELTA = "qdelta8-deflate"       # codec of a quantised-delta weight
RAW = "f32"                      # codec of a tensor shipped as it is
CODECS = (RAW, QDELTA)
Q, SCALE = ":q", ":scale"        # suffixes of the stored tensors a QDELTA tensor becomes
CLIP = 127


class CodecError(ValueError):
    """A stored tensor that does not decode; the message names it."""


def stored_names(name: str, codec: str) -> tuple[str, ...]:
    return (name + Q, name + SCALE) if codec == QDELTA else (name,)


def reference(base: np.ndarray | None, shape: tuple) -> np.ndarray:
    """What a delta is taken against: the base tensor, or -- for a head grown by new classes --
    the base rows followed by zero rows (new rows are shipped whole, as deltas from zero)."""
    ref = np.zeros(shape, np.float32)
    if base is None:
        return ref
    if base.shape == tuple(shape):
        return np.asarray(base, np.float32)
    if base.shape[1:] == tuple(shape[1:]) and base.shape[0] <= shape[0]:
        ref[:base.shape[0]] = base
    return ref


def reconstruct(ref: np.ndarray, q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    rows = ref.shape[0]
    flat = ref.reshape(rows, -1) + q.reshape(rows, -1).astype(np.float32) * scale[:, None]
    return flat.astype(np.float32).reshape(ref.shape)


def encode(ref: np.ndarray, tuned: np.ndarray, resolution: float) -> dict[str, np.ndarray]:
    """{':q': deflated int8 steps as uint8 bytes, ':scale': float32 step per row}."""
    rows = tuned.shape[0]
    delta = (np.asarray(tuned, np.float32) - ref).reshape(rows, -1)
    rms = np.sqrt(np.mean(delta.astype(np.float64) ** 2, axis=1))
    scale = np.where(rms > 0, rms / resolution, 1.0).astype(np.float32)
    q = np.clip(np.rint(delta / scale[:, None]), -CLIP, CLIP).astype(np.int8)
    blob = zlib.compress(q.tobytes(), 9)
    return {Q: np.frombuffer(blob, np.uint8).copy(), SCALE: scale}


def decode(name: str, ref: np.ndarray, blob: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The tensor `name` rebuilt from its stored parts; CodecError if they are malformed."""
    rows, n = ref.shape[0], ref.size
    if not (isinstance(blob, np.ndarray) and blob.dtype == np.uint8 and blob.ndim == 1):
        raise CodecError(f"tensor {name}{Q} must be a 1-D uint8 array")
    if not (isinstance(scale, np.ndarray) and scale.dtype == np.float32 and scale.shape == (rows,)
            and np.all(np.isfinite(scale))):
        raise CodecError(f"tensor {name}{SCALE} must be {rows} finite float32 values")
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(blob.tobytes(), n)      # never more than the tensor needs
    except zlib.error as err:
        raise CodecError(f"tensor {name}{Q} does not inflate ({err})") from None
    if len(raw) != n or not inflate.eof or inflate.unconsumed_tail or inflate.unused_data:
        raise CodecError(f"tensor {name}{Q} does not inflate to exactly {n} int8 values")
    return reconstruct(ref, np.frombuffer(raw, np.int8), scale)
