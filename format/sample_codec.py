"""Byte layout of the bundled time-of-day sample (numpy + zstandard only, no package imports).

Kept free of relative imports so the Blender bake script can load this file by path and
write the sample with the same code that reads it back.

Layout (all of it zstd-compressed as one frame):
    b"TODSMPL1" | uint32 LE json length | JSON metadata |
    mask bits  : np.packbits of bool [T, H, W] |
    frame bytes: float16 [T, H, W, 3] split into 2 byte planes (low bytes, then high bytes).
Byte planes make the exponent bytes contiguous, which roughly halves the compressed size.
The float16 values are the ground truth: nothing finer than them was committed.
"""

import json
import struct

import numpy as np
import zstandard

MAGIC = b"TODSMPL1"


def encode_sample(frames: np.ndarray, masks: np.ndarray, meta: dict, level: int = 19) -> bytes:
    frames16 = np.ascontiguousarray(frames, dtype=np.float16)
    t, h, w, c = frames16.shape
    if c != 3 or masks.shape != (t, h, w):
        raise ValueError(f"frames {frames16.shape} and masks {masks.shape} do not match")
    if not np.isfinite(frames16).all():
        raise ValueError("frames overflow float16 or hold NaN/Inf")
    header = json.dumps({**meta, "shape": [t, h, w]}, sort_keys=True).encode()
    planes = frames16.view(np.uint8).reshape(-1, 2).T.copy()
    body = b"".join(
        [MAGIC, struct.pack("<I", len(header)), header,
         np.packbits(masks.astype(bool).ravel()).tobytes(), planes.tobytes()]
    )
    return zstandard.ZstdCompressor(level=level).compress(body)


def decode_sample(blob: bytes) -> tuple[np.ndarray, np.ndarray, dict]:
    body = zstandard.ZstdDecompressor().decompress(blob)
    if body[:8] != MAGIC:
        raise ValueError("not a todlm sample (wrong magic)")
    (n,) = struct.unpack_from("<I", body, 8)
    meta = json.loads(body[12:12 + n])
    t, h, w = meta.pop("shape")
    off = 12 + n
    nbits = (t * h * w + 7) // 8
    masks = np.unpackbits(np.frombuffer(body, np.uint8, nbits, off))[: t * h * w]
    off += nbits
    planes = np.frombuffer(body, np.uint8, 2 * t * h * w * 3, off).reshape(2, -1)
    frames = planes.T.copy().view(np.float16).reshape(t, h, w, 3).astype(np.float32)
    return frames, masks.reshape(t, h, w).astype(bool), meta
