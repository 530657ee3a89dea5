"""The decoder's reference: the model's math in plain numpy, vectorised, slow and obvious. Both
kernels and the trainer's torch forward are tested against it."""

import numpy as np

from todlm.format.model_config import ValueConfig, hash_index

from .upsample import axis_taps
from .weights import GridMLPWeights


def bilinear(grid: np.ndarray, ys: np.ndarray, xs: np.ndarray, width: int, height: int,
             table: tuple[int, int, int] | None = None) -> np.ndarray:
    """grid: [rows, cols, C], or with table = (rows, cols, entries > 0) a hashed [entries, C]."""
    rows, cols, entries = table if table is not None else (*grid.shape[:2], 0)
    flat = grid.reshape(-1, grid.shape[-1])

    def at(cy, cx):
        return flat[hash_index(cy, cx, entries) if entries else cy * cols + cx]

    y0, fy = axis_taps(ys, height, rows)
    x0, fx = axis_taps(xs, width, cols)
    fy, fx = fy[:, None], fx[:, None]
    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def inverse_value(y: np.ndarray, v: ValueConfig) -> np.ndarray:
    y = np.maximum(y, 0.0)
    if v.transform == "gamma":
        x = y ** v.gamma
    elif v.transform == "log1p":
        x = np.expm1(y)
    elif v.transform == "mulaw":
        x = np.expm1(y * np.log1p(v.mu)) / v.mu
    else:
        x = y
    return x * v.scale


def sample_reference(m: GridMLPWeights, ys, xs, ts) -> np.ndarray:
    """[N, 3] float32 linear values at texels (ys, xs) and times ts (masked texels give 0)."""
    ys, xs = np.asarray(ys, np.int64), np.asarray(xs, np.int64)
    feats = np.concatenate([bilinear(g, ys, xs, m.width, m.height, table)
                            for g, table in m.feature_levels()], axis=1)
    h = feats @ m.weights[0][:, :m.n_features].T + m.time_bias(np.broadcast_to(ts, ys.shape))
    for w, b in zip(m.weights[1:], m.biases[1:]):
        h = np.maximum(h, 0.0) @ w.T + b
    if m.basis_k:
        coef = h[:, :3 * m.basis_k].reshape(-1, 3, m.basis_k).copy()
        offsets, mix = m.texel_offsets()
        j = offsets.shape[-1]
        coef[:, :, :j] += mix[None] * offsets[ys, xs][:, None, :]
        ts = np.broadcast_to(ts, ys.shape)
        value = (coef * m.basis_weights(ts)[:, None, :]).sum(axis=2)
        if m.sun_k:
            value = value + sun_term(m, h, ts)
        h = value
    images, _ = m.additive_images
    if len(images):
        weight = m.image_weights(np.broadcast_to(ts, ys.shape))
        for p, image in enumerate(images):
            h = h + weight[:, p:p + 1] * bilinear(image, ys, xs, m.width, m.height)
    out = inverse_value(h, m.config.value)
    if m.mask is not None:
        out = out * m.mask[ys, xs][:, None]
    return out.astype(np.float32)


def window_gate(t_on, t_off, t, width: float) -> np.ndarray:
    """The sun window's weight (MODEL.md step 5): sigmoid((t - t_on) / w) sigmoid((t_off - t) / w)."""
    with np.errstate(over="ignore"):
        return 1.0 / ((1.0 + np.exp((t_on - t) / width)) * (1.0 + np.exp((t - t_off) / width)))


def sun_term(m: GridMLPWeights, out: np.ndarray, ts) -> np.ndarray:
    """[N, 3]: the gated sun term from the MLP's outputs `out` [N, 3k + 3 sun.k + 2] at times ts."""
    k, s = m.basis_k, m.sun_k
    sun = out[:, 3 * k:3 * k + 3 * s].reshape(-1, 3, s)
    t_on, t_off = 12 + 8 * np.tanh(out[:, 3 * k + 3 * s]), 12 + 8 * np.tanh(out[:, 3 * k + 3 * s + 1])
    gate = window_gate(t_on, t_off, np.remainder(ts, 24.0), m.config.sun.width)
    return gate[:, None] * (sun * m.sun_weights(ts)[:, None, :]).sum(axis=2)


def decode_frame_reference(m: GridMLPWeights, t: float) -> np.ndarray:
    ys, xs = np.meshgrid(np.arange(m.height), np.arange(m.width), indexing="ij")
    return sample_reference(m, ys.reshape(-1), xs.reshape(-1), np.full(ys.size, float(t))).reshape(
        m.height, m.width, 3)


def parity_bound(decoder, ref: np.ndarray) -> float:
    """How far a decoder may be from this reference: 1e-4 of the peak (float32 arithmetic),
    plus, for int16 knot planes, half a plane step through the steepest part of the inverse
    transform over the planes' range (a frame is a convex blend of planes)."""
    bound = 1e-4 * max(float(ref.max()), 1e-3)
    if decoder.knots is None:
        return bound
    from .knot_cache import PLANE_MAX

    step = float(decoder.knots.plane_scale.max()) * decoder.knots.sets  # a sun window's planes add a second blend
    y = np.linspace(-step * PLANE_MAX, step * PLANE_MAX, 20001)
    value = decoder.weights.config.value
    return bound + float(np.abs(inverse_value(y + step / 2, value) - inverse_value(y, value)).max())
