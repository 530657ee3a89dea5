"""A lightmap's model, dequantised once into float32 arrays, plus the flat layout the kernels
take (one buffer per kind, offsets in small int tables, so any level/layer count compiles once)."""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from todlm.format.container import ContainerError, LightmapEntry
from todlm.format.model_config import (LEGACY_SCHEMAS, MODEL_FEATURES, MODEL_TYPE, ModelConfig, baseline_shape,
                                      knot_residual_expand, level_table)

from .time_features import hat_and_lamp, time_features

TRANSFORM_IDS = {"linear": 0, "gamma": 1, "log1p": 2, "mulaw": 3}


@dataclass
class GridMLPWeights:
    config: ModelConfig
    width: int
    height: int
    grids: list[np.ndarray]  # [rows, cols, C] (dense) or [entries, C] (hashed) float32 per level
    baseline: np.ndarray | None  # [rows, cols, 3] float32, value domain
    weights: list[np.ndarray]  # [out, in] float32 per layer
    biases: list[np.ndarray]  # [out] float32
    mask: np.ndarray | None  # [H, W] bool
    time_weight: np.ndarray | None = None  # basis models: [k, time features]
    time_bias_vector: np.ndarray | None = None  # basis models: [k]
    latent: np.ndarray | None = None  # latent-texture models: [rows, cols, latent channels]
    detail: np.ndarray | None = None  # detail-plane models: [H, W, J]
    detail_colour: np.ndarray | None = None  # [3, J]
    knot_residual: np.ndarray | None = None  # knot-residual models: [P, rows, cols, 3], value domain
    knot_residual_planes: np.ndarray | None = None  # [P, 2] int64: each image's (lamp state, knot)

    @classmethod
    def from_entry(cls, entry: LightmapEntry, where=None) -> "GridMLPWeights":
        meta = entry.metadata.get("model") if isinstance(entry.metadata, dict) else None
        if not isinstance(meta, dict) or meta.get("type") != MODEL_TYPE:
            raise ContainerError(where, f"lightmap {entry.name!r} holds no {MODEL_TYPE} model")
        declared = _declared_features(meta, entry.name, where)
        config = ModelConfig.from_json(meta.get("config"), where)
        undeclared = [f for f in config.features if f not in declared]
        if undeclared:
            raise ContainerError(where, f"lightmap {entry.name!r}: its config uses {', '.join(undeclared)}, which "
                                        "its feature list does not declare")
        w, h = entry.width, entry.height

        def tensor(name: str, shape: tuple) -> np.ndarray:
            array = entry.dequantized(name)
            if tuple(array.shape) != tuple(shape):
                raise ContainerError(where, f"section {name!r} has shape {list(array.shape)}, the model "
                                            f"needs {list(shape)}")
            return np.ascontiguousarray(array, np.float32)

        grids = []
        for i in range(len(config.grid.resolutions)):
            rows, cols, entries = level_table(i, config.grid, w, h)
            grids.append(tensor(f"grid{i}", ((entries,) if entries else (rows, cols)) + (config.grid.channels,)))
        baseline = (tensor("baseline", (*baseline_shape(config.residual.downsample, w, h), 3))
                    if config.residual.enabled else None)
        sizes = [config.mlp_inputs] + [config.mlp.hidden] * config.mlp.layers + [config.mlp_outputs]
        weights = [tensor(f"mlp{i}.weight", (b, a)) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
        biases = [tensor(f"mlp{i}.bias", (b,)) for i, b in enumerate(sizes[1:])]
        lat = config.latent
        latent = (tensor("latent", (*baseline_shape(lat.downsample, w, h), lat.channels))
                  if lat.channels else None)
        d = config.detail.channels
        detail = tensor("detail", (h, w, d)) if d else None
        detail_colour = tensor("detail.colour", (3, d)) if d else None
        k = config.basis.k
        time_weight = tensor("time.weight", (k, config.time_features)) if k else None
        time_bias_vector = tensor("time.bias", (k,)) if k else None
        knot_residual = planes = None
        kr = config.knot_residual
        if kr.downsample:
            planes = _knot_residual_planes(meta.get("knot_residual"), config, entry.name, where)
            companded = tensor("knot_residual", (len(planes), *baseline_shape(kr.downsample, w, h), 3))
            knot_residual = knot_residual_expand(companded, tensor("knot_residual.peak", (len(planes),)), kr.mu)
        mask = None
        if isinstance(meta.get("mask"), dict):
            packed = entry.array("mask")
            if packed.dtype != np.uint8 or packed.shape != ((w * h + 7) // 8,):
                raise ContainerError(where, f"mask section has shape {list(packed.shape)}, expected "
                                            f"[{(w * h + 7) // 8}] uint8")
            mask = np.unpackbits(packed, count=w * h).reshape(h, w).astype(bool)
        return cls(config, w, h, grids, baseline, weights, biases, mask, time_weight, time_bias_vector, latent,
                   detail, detail_colour, knot_residual, planes)

    @property
    def n_features(self) -> int:
        return self.config.grid_features

    def feature_levels(self) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
        """(table, (rows, cols, hashed entries or 0)) for every level the MLP reads, in input
        order: the grid levels, then the latent texture cut into dense levels of grid.channels."""
        levels = [(g, level_table(i, self.config.grid, self.width, self.height)) for i, g in enumerate(self.grids)]
        if self.latent is not None:
            rows, cols, channels = self.latent.shape
            step = self.config.grid.channels
            levels += [(np.ascontiguousarray(self.latent[..., c:c + step]), (rows, cols, 0))
                       for c in range(0, channels, step)]
        return levels

    @property
    def basis_k(self) -> int:
        return self.config.basis.k

    def time_bias(self, ts) -> np.ndarray:
        """The first layer's time-only part for each t: [N, out0] (bias included). Computed once
        per frame, never per texel. Basis models: the bias alone."""
        ts = np.asarray(ts, np.float64).reshape(-1)
        first = self.weights[0]
        if self.basis_k:
            return np.broadcast_to(self.biases[0], (ts.size, first.shape[0])).astype(np.float32)
        feats = time_features(ts, self.config.time)
        return (feats @ first[:, self.n_features:].T + self.biases[0]).astype(np.float32)

    def basis_weights(self, ts) -> np.ndarray:
        """b(t) for each t: [N, k]; [N, 1] ones for models without a time basis."""
        ts = np.asarray(ts, np.float64).reshape(-1)
        if not self.basis_k:
            return np.ones((ts.size, 1), np.float32)
        feats = time_features(ts, self.config.time)
        return (feats @ self.time_weight.T.astype(np.float64) + self.time_bias_vector).astype(np.float32)

    def additive_images(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's low-resolution value-domain images, each added with a per-frame weight, as one
        stack [P, rows, cols, 3] and each one's (lamp state, knot) [P, 2]: the baseline first, as
        (-1, -1), weighted 1 at every time, then the knot residual's images, weighted by their
        knot's hat where their lamp state is t's (MODEL.md step 6). P = 0: none."""
        images, pairs = [], []
        if self.baseline is not None:
            images.append(self.baseline[None])
            pairs.append(np.full((1, 2), -1, np.int64))
        if self.knot_residual is not None:
            images.append(self.knot_residual)
            pairs.append(self.knot_residual_planes)
        if not images:
            return np.zeros((0, 2, 2, 3), np.float32), np.zeros((0, 2), np.int64)
        return np.concatenate(images).astype(np.float32), np.concatenate(pairs)

    def image_weights(self, ts) -> np.ndarray:
        """[N, P]: each additive image's weight at each t."""
        ts = np.asarray(ts, np.float64).reshape(-1)
        _, pairs = self.additive_images()
        out = np.zeros((ts.size, len(pairs)), np.float32)
        out[:, pairs[:, 0] < 0] = 1.0
        knotted = np.nonzero(pairs[:, 0] >= 0)[0]
        if knotted.size:
            hat, night = hat_and_lamp(ts, self.config.time)
            lamp, knot = pairs[knotted, 0], pairs[knotted, 1]
            out[:, knotted] = hat[:, knot] * (night[:, None] == lamp[None, :])
        return out


def _declared_features(meta: dict, name: str, where) -> list[str]:
    """The model's feature list; a feature this decoder lacks is named, so the user knows what to
    upgrade for. Files written before feature lists carry a schema number n instead, which allowed
    the first n + 1 features (MODEL_FEATURES is in the order they were added)."""
    if "features" not in meta:
        if meta.get("schema") in LEGACY_SCHEMAS:
            return list(MODEL_FEATURES[:meta["schema"] + 1])
        raise ContainerError(where, f"lightmap {name!r}: model metadata has neither a feature list nor a "
                                    "known schema; a newer todlm wrote it")
    features = meta["features"]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise ContainerError(where, f"lightmap {name!r}: model features must be a list of names")
    missing = [f for f in features if f not in MODEL_FEATURES]
    if missing:
        raise ContainerError(where, f"lightmap {name!r} needs model feature(s) {', '.join(missing)}, which this "
                                    "decoder lacks: a newer todlm wrote it")
    return features


def _knot_residual_planes(meta, config: ModelConfig, name: str, where) -> np.ndarray:
    """The metadata's (lamp state, knot) pairs, checked: distinct, in range."""
    pairs = meta.get("planes") if isinstance(meta, dict) else None
    lamps = 2 if config.time.lamp_state else 1
    ok = (isinstance(pairs, list) and pairs
          and all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
                  and 0 <= p[0] < lamps and 0 <= p[1] < config.time.knots for p in pairs)
          and len({tuple(p) for p in pairs}) == len(pairs))
    if not ok:
        raise ContainerError(where, f"lightmap {name!r}: knot_residual.planes must list distinct "
                                    f"[lamp state 0..{lamps - 1}, knot 0..{config.time.knots - 1}] pairs")
    return np.array(pairs, np.int64)


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
    detail_data: np.ndarray  # [H, W, J] float32, or [1, 1, 1] zeros with detail_j = 0
    detail_colour: np.ndarray  # [3, J] float32 ([3, 1] zeros without a detail plane)
    images: np.ndarray  # [P, rows, cols, 3] additive images (GridMLPWeights.additive_images), [1, 2, 2, 3] zeros if none
    channels: int  # grid channels per level
    max_width: int  # widest layer input or output
    basis_k: int  # 0: the last layer gives RGB; k: it gives 3k coefficients for the time basis
    detail_j: int
    image_count: int

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
        detail = m.detail if m.detail is not None else np.zeros((1, 1, 1), np.float32)
        colour = m.detail_colour if m.detail is not None else np.zeros((3, 1), np.float32)
        images, _ = m.additive_images()
        return cls(grid_data, grid_meta, np.concatenate(parts).astype(np.float32), np.array(meta, np.int64),
                   np.array([TRANSFORM_IDS[v.transform], v.gamma, v.mu, v.scale], np.float32),
                   np.ascontiguousarray(detail, np.float32), np.ascontiguousarray(colour, np.float32),
                   np.ascontiguousarray(images if len(images) else np.zeros((1, 2, 2, 3), np.float32)),
                   m.config.grid.channels, max([m.n_features] + [w.shape[0] for w in m.weights]), m.basis_k,
                   m.config.detail.channels, len(images))


def kernel_mask(m: GridMLPWeights) -> np.ndarray:
    """[H, W] uint8: the texels to decode (all without a stored mask)."""
    return (m.mask if m.mask is not None else np.ones((m.height, m.width), bool)).astype(np.uint8)
