"""What a game team would use instead of todlm, each reduced to: stored bytes, the frames it
gives back at the baked times (and at unseen times where it can), and what decoding costs."""

import time
from dataclasses import dataclass

import numpy as np
import zstandard

from todlm.format.lightmap_set import LightmapSet

from .measure import interpolation_weights


@dataclass
class Outcome:
    stored_bytes: int | None  # None: the method stores nothing of its own (interpolation)
    frames: np.ndarray | None  # [T, H, W, 3] at the train times
    unseen: np.ndarray | None  # [U, H, W, 3] at the unseen times, where the method can
    decode_ms: float | None  # CPU ms per frame
    resident_bytes: int | None
    train_s: float = 0.0
    note: str = ""
    hprc_bytes: int | None = None  # what an HPRC submission stores, where not stored_bytes (todlm: sections raw)
    export_s: float | None = None  # todlm: from the trained model to the stored record (PTQ choice, knot residual)
    config: dict | None = None  # todlm: the run document (trainer/run_config.py)


def _masked(s: LightmapSet) -> np.ndarray:
    return np.where(s.masks[..., None], s.frames, 0).astype(np.float32)


def fp16_zstd(train: LightmapSet, level: int = 19) -> Outcome:
    """Every frame as float16, zstd-compressed: the lossless-ish reference size."""
    half = _masked(train).astype(np.float16)
    start = time.perf_counter()
    blob = zstandard.ZstdCompressor(level=level).compress(half.tobytes())
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    back = np.frombuffer(zstandard.ZstdDecompressor().decompress(blob), np.float16).reshape(half.shape)
    frames = back.astype(np.float32)
    decode_ms = 1e3 * (time.perf_counter() - start) / train.n_times
    return Outcome(len(blob), frames, None, decode_ms, half.nbytes, encode_s, f"zstd level {level}")


def astc_hdr(train: LightmapSet, block: int, quality: float = 60.0, threads: int = 2) -> Outcome:
    """ASTC HDR (astc-encoder) per frame at block x block texels, decoded back to float in
    software; on a GPU the hardware decodes it for free while sampling."""
    from astc_encoder import ASTCConfig, ASTCContext, ASTCImage, ASTCProfile, ASTCSwizzle, ASTCType

    context = ASTCContext(ASTCConfig(ASTCProfile.HDR, block, block, quality=quality), threads=threads)
    swizzle = ASTCSwizzle.from_str("RGBA")
    h, w = train.height, train.width
    rgba = np.ones((h, w, 4), np.float32)
    frames, blobs, encode_s, decode_s = [], [], 0.0, 0.0
    for frame in _masked(train):
        rgba[..., :3] = frame
        start = time.perf_counter()
        blobs.append(context.compress(ASTCImage(ASTCType.F32, w, h, data=rgba.tobytes()), swizzle))
        encode_s += time.perf_counter() - start
        start = time.perf_counter()
        back = context.decompress(blobs[-1], ASTCImage(ASTCType.F32, w, h), swizzle)
        decode_s += time.perf_counter() - start
        frames.append(np.frombuffer(back.data, np.float32).reshape(h, w, 4)[..., :3].copy())
    size = sum(len(b) for b in blobs)
    return Outcome(size, np.stack(frames), None, 1e3 * decode_s / train.n_times, size // train.n_times, encode_s,
                   f"{block}x{block} blocks, quality {quality:g}, software decode")


def _pca_fit(y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y: [T, N] -> mean [N], basis [k, N], weights [T, k] (via the small T x T Gram matrix)."""
    mean = y.mean(axis=0)
    yc = y - mean
    evals, evecs = np.linalg.eigh(yc @ yc.T)
    order = np.argsort(evals)[::-1][:k]
    s = np.sqrt(np.maximum(evals[order], 1e-30))
    basis = (evecs[:, order].T @ yc) / s[:, None]
    return mean, basis, evecs[:, order] * s[None, :]


def _quantize_rows(x: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """Per-row affine quantisation to `bits`; returns the dequantised rows and stored bytes."""
    levels = (1 << bits) - 1
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    scale = np.where(hi > lo, (hi - lo) / levels, 1.0)
    q = np.round((x - lo) / scale)
    return (q * scale + lo).astype(np.float32), x.size * bits // 8 + x.shape[0] * 8


def pca(train: LightmapSet, k: int, unseen_times=None, gamma: float = 2.2, bits: int = 8,
        split_lamps: bool = False) -> Outcome:
    """Eigen-lightmaps in a gamma domain: k basis images (per-image 8-bit range), a 16-bit mean
    image and float32 per-frame weights; unseen times interpolate the weights of the two
    nearest baked frames with the same lamp state. split_lamps: one such model per lamp state,
    each with k // 2 images."""
    from todlm.format.times import lamps_on

    start = time.perf_counter()
    peak = float(train.frames.max()) or 1.0
    y = (_masked(train) / peak) ** (1.0 / gamma)
    t, h, w, _ = y.shape
    y = y.reshape(t, -1).astype(np.float64)
    lamp = np.array([lamps_on(x) for x in train.times])
    groups = [lamp, ~lamp] if split_lamps else [np.ones(t, bool)]
    groups = [g for g in groups if g.any()]
    per_group = max(1, k // len(groups)) if split_lamps else k
    models, stored = [], 0
    for g in groups:
        kk = min(per_group, int(g.sum()))
        mean, basis, weights = _pca_fit(y[g], kk)
        basis, basis_bytes = _quantize_rows(basis, bits)
        mean_q, mean_bytes = _quantize_rows(mean[None], 16)
        models.append((g, mean_q[0], basis, weights.astype(np.float32)))
        stored += basis_bytes + mean_bytes + weights.size * 4
    train_s = time.perf_counter() - start

    def frame(model, wts) -> np.ndarray:
        _, mean, basis, _ = model
        v = mean + wts @ basis
        return (peak * np.maximum(v, 0.0) ** gamma).reshape(h, w, 3).astype(np.float32)

    frames = np.empty((t, h, w, 3), np.float32)
    start = time.perf_counter()
    for model in models:
        for j, i in enumerate(np.flatnonzero(model[0])):
            frames[i] = frame(model, model[3][j])
    decode_ms = 1e3 * (time.perf_counter() - start) / t
    unseen = None
    if unseen_times is not None and len(unseen_times):
        unseen = []
        for u in unseen_times:
            below, above, a = interpolation_weights(train.times, float(u))
            model = next(m for m in models if m[0][below])
            rows = {int(i): j for j, i in enumerate(np.flatnonzero(model[0]))}
            wts = (1 - a) * model[3][rows[below]] + a * model[3][rows[above]]
            unseen.append(frame(model, wts))
        unseen = np.stack(unseen)
    resident = sum(m[1].nbytes + m[2].nbytes for m in models)
    note = f"k={k}, gamma {gamma:g}, {bits}-bit basis" + (", lamp states separate" if split_lamps else "")
    return Outcome(stored, frames, unseen, decode_ms, resident, train_s, note)


def interpolation(train: LightmapSet, unseen_times) -> Outcome:
    """Unseen times only: the baked frames themselves, blended linearly (stores the frames)."""
    start = time.perf_counter()
    out = []
    for u in unseen_times:
        below, above, a = interpolation_weights(train.times, float(u))
        out.append(((1 - a) * train.frames[below] + a * train.frames[above]).astype(np.float32))
    decode_ms = 1e3 * (time.perf_counter() - start) / max(len(out), 1)
    return Outcome(None, None, np.stack(out), decode_ms, train.frames.nbytes, 0.0,
                   "needs every baked frame (raw size); unseen times only")
