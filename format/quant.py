"""Quantised tensors: the exact formulas of FORMAT.md, shared by the trainer and the decoder."""

from dataclasses import dataclass

import numpy as np

from .dtypes import NUMPY
from .errors import FormatError

AFFINE_STORAGE = {**{b: f"uint{b}" for b in range(1, 9)}, 16: "uint16"}
"""bits -> stored dtype; 1-7 bits are packed (dtypes.PACKED). Readers also accept uint8 for 5-7
bits (files written before 5-7 bits were packed)."""


def float32_json(value: np.float32) -> float:
    """The shortest decimal that reads back as this float32 (about half the digits of its exact
    float64 form, which a TOC of many per-row scales pays for), else the exact form."""
    short = float(np.format_float_positional(value, unique=True))
    return short if np.float32(short) == value else float(value)


@dataclass(frozen=True)
class AffineQuant:
    """Per-channel affine: x = (q - zero_point[c]) * scale[c] along `axis`."""

    bits: int
    axis: int
    scale: np.ndarray  # float32 [C]
    zero_point: np.ndarray  # int64 [C]

    @property
    def qmax(self) -> int:
        return (1 << self.bits) - 1

    @property
    def storage_dtype(self) -> str:
        return AFFINE_STORAGE[self.bits]

    def _bcast(self, v: np.ndarray, ndim: int) -> np.ndarray:
        shape = [1] * ndim
        shape[self.axis] = -1
        return v.reshape(shape)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        scale = self._bcast(self.scale.astype(np.float32), x.ndim)
        zp = self._bcast(self.zero_point.astype(np.float32), x.ndim)
        q = np.clip(np.round(x / scale) + zp, 0, self.qmax)
        return q.astype(NUMPY[self.storage_dtype])

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        scale = self._bcast(self.scale.astype(np.float32), q.ndim)
        zp = self._bcast(self.zero_point.astype(np.float32), q.ndim)
        return (q.astype(np.float32) - zp) * scale

    def to_json(self) -> dict:
        return {"scheme": "affine", "bits": self.bits, "axis": self.axis,
                "scale": [float32_json(s) for s in self.scale.astype(np.float32)],
                "zero_point": [int(z) for z in self.zero_point]}


def calibrate(x: np.ndarray, bits: int = 8, axis: int = -1, percentile: float | None = None) -> AffineQuant:
    """Per-channel range by min/max (percentile=None) or by [100-p, p] percentiles; 0 stays exact."""
    if bits not in AFFINE_STORAGE or bits < 2:  # 1 bit leaves no spare step for the zero point
        raise ValueError(f"min/max calibration supports {sorted(b for b in AFFINE_STORAGE if b >= 2)} bits, not {bits}")
    x = np.asarray(x, np.float32)
    axis = axis % x.ndim
    per_channel = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    if percentile is None:
        lo, hi = per_channel.min(axis=0), per_channel.max(axis=0)
    else:
        lo, hi = np.percentile(per_channel, [100.0 - percentile, percentile], axis=0)
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
    qmax = (1 << bits) - 1
    # qmax - 1 steps: the rounded zero point shifts the grid by up to half a step, and the
    # spare step keeps both lo and hi inside it, so no value in range is ever clipped.
    scale = ((hi - lo) / (qmax - 1)).astype(np.float32)
    scale[scale == 0] = 1.0
    zero_point = np.clip(np.round(-lo / scale), 0, qmax).astype(np.int64)
    return AffineQuant(bits, axis, scale, zero_point)


def quant_from_json(spec: dict | None, dtype: str, shape: list[int], where=None):
    """Validate a section's `quant` entry; returns AffineQuant, "float16" or None."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise FormatError(where, "quant must be an object")
    scheme = spec.get("scheme")
    if scheme == "float16":
        if dtype != "float16":
            raise FormatError(where, f"quant scheme float16 on a {dtype} tensor")
        return "float16"
    if scheme != "affine":
        raise FormatError(where, f"unknown quant scheme {scheme!r}")
    bits, axis = spec.get("bits"), spec.get("axis")
    legacy = "uint8" if isinstance(bits, int) and 5 <= bits <= 7 else None
    if not isinstance(bits, int) or bits not in AFFINE_STORAGE or dtype not in (AFFINE_STORAGE[bits], legacy):
        raise FormatError(where, f"affine {bits}-bit quantisation does not fit a {dtype} tensor")
    if not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < max(len(shape), 1):
        raise FormatError(where, f"quant axis {axis!r} outside the shape {shape}")
    scale, zp = spec.get("scale"), spec.get("zero_point")
    channels = shape[axis] if shape else 1
    ok = (isinstance(scale, list) and isinstance(zp, list) and len(scale) == len(zp) == channels
          and all(isinstance(s, (int, float)) and not isinstance(s, bool) and np.isfinite(s) for s in scale)
          and all(isinstance(z, int) and not isinstance(z, bool) and 0 <= z <= (1 << bits) - 1 for z in zp))
    if not ok:
        raise FormatError(where, f"quant scale/zero_point must be {channels} finite numbers / integers in range")
    return AffineQuant(bits, axis, np.array(scale, np.float32), np.array(zp, np.int64))


def dequantize(q: np.ndarray, quant) -> np.ndarray:
    """float32 values of a stored tensor, given quant_from_json's result."""
    if quant is None or quant == "float16":
        return np.asarray(q, np.float32)
    return quant.dequantize(q)
