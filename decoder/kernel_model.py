"""GridMLPWeights flattened for the kernels: one named tuple of arrays and counts that the CPU
kernels and their CUDA twins take as one argument (one buffer per kind, offsets in small int
tables, so any level or layer count compiles once)."""

from typing import NamedTuple

import numpy as np

from .weights import GridMLPWeights

TRANSFORM_IDS = {"linear": 0, "gamma": 1, "log1p": 2, "mulaw": 3}


class KernelModel(NamedTuple):
    """GridMLPWeights flattened for the kernels: one argument, the same for the CPU kernels and
    their CUDA twins, so a model part adds a field here, not a parameter to every kernel.
    grid_meta rows: (offset, rows, cols, hashed entries or 0 for a dense level); layer_meta rows:
    (weight offset, bias offset, n_out, n_in, relu); value: (transform id, gamma, mu, scale)."""

    grid_data: np.ndarray  # float32, every feature level end to end
    grid_meta: np.ndarray  # int64 [levels, 4]
    w_data: np.ndarray  # float32, every layer's weights then bias (the first layer's time part folded out)
    layer_meta: np.ndarray  # int64 [layers, 5]
    value: np.ndarray  # float32 [4]
    texel_offsets: np.ndarray  # [H, W, J] float32 (GridMLPWeights.texel_offsets), [1, 1, 1] zeros if J = 0
    offset_mix: np.ndarray  # [3, J] float32, [3, 1] zeros if J = 0
    images: np.ndarray  # [P, rows, cols, 3] additive images (GridMLPWeights.additive_images), [1, 2, 2, 3] zeros if none
    channels: int  # grid channels per level
    max_width: int  # widest layer input or output
    basis_k: int  # 0: the last layer gives RGB; k: it gives 3k coefficients for the time basis
    offset_count: int  # J
    image_count: int
    sun_k: int  # 0: no sun window; s: the last layer's 3s sun coefficients and window ends follow the 3k
    sun_width: float  # the window's width in hours

    @classmethod
    def from_weights(cls, m: GridMLPWeights) -> "KernelModel":
        levels = m.feature_levels()
        offsets = np.cumsum([0] + [g.size for g, _ in levels])
        grid_meta = np.array([[offsets[i], *table] for i, (_, table) in enumerate(levels)], np.int64)
        grid_data = np.concatenate([g.reshape(-1) for g, _ in levels]).astype(np.float32)
        parts, meta, off = [], [], 0
        for i, (w, b) in enumerate(zip(m.weights, m.biases)):
            w_in = w[:, :m.n_features] if i == 0 else w  # the time part is folded into time_bias
            parts += [w_in.reshape(-1), b]
            meta.append([off, off + w_in.size, w.shape[0], w_in.shape[1], 1 if i < len(m.weights) - 1 else 0])
            off += w_in.size + b.size
        v = m.config.value
        offsets, mix = m.texel_offsets()
        count = offsets.shape[-1]
        if not count:
            offsets, mix = np.zeros((1, 1, 1), np.float32), np.zeros((3, 1), np.float32)
        images, _ = m.additive_images
        return cls(grid_data, grid_meta, np.concatenate(parts).astype(np.float32), np.array(meta, np.int64),
                   np.array([TRANSFORM_IDS[v.transform], v.gamma, v.mu, v.scale], np.float32),
                   np.ascontiguousarray(offsets, np.float32), np.ascontiguousarray(mix, np.float32),
                   np.ascontiguousarray(images if len(images) else np.zeros((1, 2, 2, 3), np.float32)),
                   m.config.grid.channels, max([m.n_features] + [w.shape[0] for w in m.weights]), m.basis_k,
                   count, len(images), m.sun_k, float(m.config.sun.width))


def kernel_weights(weights: np.ndarray) -> np.ndarray:
    """Image weights ([..., P]) as the kernels take them: at least one column, so a model without
    additive images still passes an array (the kernels read image_count of them: none)."""
    if weights.shape[-1]:
        return np.ascontiguousarray(weights, np.float32)
    return np.zeros(weights.shape[:-1] + (1,), np.float32)


def kernel_mask(m: GridMLPWeights) -> np.ndarray:
    """[H, W] uint8: the texels to decode (all without a stored mask)."""
    return (m.mask if m.mask is not None else np.ones((m.height, m.width), bool)).astype(np.uint8)
