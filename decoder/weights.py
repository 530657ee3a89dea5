"""A lightmap's GridMLP model and its container sections (decoder/MODEL.md), both ways: read and
dequantised once into float32 arrays (GridMLPWeights), and written from such arrays
(gridmlp_record: the trainer's export, and tests, write through it), so the sections' layout
lives in this one file."""

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from todlm.format.container import ContainerError, LightmapEntry
from todlm.format.container_writer import LightmapRecord, Tensor, producer_string
from todlm.format.model_config import (LEGACY_SCHEMAS, MODEL_FEATURES, MODEL_TYPE, KnotResidualConfig, ModelConfig,
                                      baseline_shape, knot_residual_compand, knot_residual_expand, level_table)
from todlm.format.quant import calibrate

from .time_features import hat_and_lamp, time_features


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
    sun_weight: np.ndarray | None = None  # sun-window models: [sun.k, time features]
    sun_bias: np.ndarray | None = None  # [sun.k]

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
        s = config.sun.k
        sun_weight = tensor("sun.weight", (s, config.time_features)) if s else None
        sun_bias = tensor("sun.bias", (s,)) if s else None
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
                   detail, detail_colour, knot_residual, planes, sun_weight, sun_bias)

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

    @property
    def sun_k(self) -> int:
        return self.config.sun.k

    def sun_weights(self, ts) -> np.ndarray:
        """d(t) for each t: [N, sun.k], the sun term's time weights (MODEL.md step 5)."""
        feats = time_features(np.asarray(ts, np.float64).reshape(-1), self.config.time)
        return (feats @ self.sun_weight.T.astype(np.float64) + self.sun_bias).astype(np.float32)

    def time_row(self, ts) -> np.ndarray:
        """[N, k (+ sun.k + 1)]: b(t), then with a sun window d(t) and t mod 24: per time, what
        the network kernels dot a texel's outputs with (one table, so the sun adds no argument)."""
        b = self.basis_weights(ts)
        if not self.sun_k:
            return b
        t = np.remainder(np.asarray(ts, np.float64).reshape(-1), 24.0)
        return np.hstack([b, self.sun_weights(ts), t[:, None]]).astype(np.float32)

    def texel_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-texel coefficient offsets [H, W, J] and their mix [3, J]: a[c k + j] += mix[c, j] *
        offsets[y, x, j] at the texel itself (MODEL.md step 5): the detail plane. J = 0: none."""
        if self.detail is None:
            return np.zeros((self.height, self.width, 0), np.float32), np.zeros((3, 0), np.float32)
        return self.detail, self.detail_colour

    @cached_property
    def additive_images(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's low-resolution value-domain images, each added with a per-frame weight, as one
        stack [P, rows, cols, 3] and each one's (lamp state, knot) [P, 2]: the baseline first, as
        (-1, -1), weighted 1 at every time, then the knot residual's images, weighted by their
        knot's hat where their lamp state is t's (MODEL.md step 6). P = 0: none. Stacked once:
        every uncached frame reads the pairs."""
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
        _, pairs = self.additive_images
        out = np.zeros((ts.size, len(pairs)), np.float32)
        out[:, pairs[:, 0] < 0] = 1.0
        knotted = np.nonzero(pairs[:, 0] >= 0)[0]
        if knotted.size:
            hat, night = hat_and_lamp(ts, self.config.time)
            lamp, knot = pairs[knotted, 0], pairs[knotted, 1]
            out[:, knotted] = hat[:, knot] * (night[:, None] == lamp[None, :])
        return out


def decoder_metadata(metadata: dict) -> dict:
    """Of a lightmap's metadata, only what GridMLPWeights.from_entry reads: the model's type,
    features (or legacy schema), config, the knot residual's image pairs and whether a mask is
    stored. What a submission ships; descriptions and training settings stay in the .tlm."""
    model = metadata.get("model") if isinstance(metadata, dict) else None
    if not isinstance(model, dict):
        return {}
    kept = {k: model[k] for k in ("type", "features", "schema", "config") if k in model}
    if isinstance(model.get("knot_residual"), dict):
        kept["knot_residual"] = {"planes": model["knot_residual"].get("planes")}
    if isinstance(model.get("mask"), dict):
        kept["mask"] = {"section": "mask"}
    return {"model": kept}


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


MLP_WEIGHT_BITS = 8  # mlp.weights "uint8": one affine scale and zero point per output row


@dataclass
class GridMLPArrays:
    """A model's values, float32, in the shapes of its sections (MODEL.md "Sections"). `detail`
    is given already quantised (its codes and quantiser are the trainer's own: the plane trains
    through them); `knot_residual` images are in the value domain, with each image's (lamp
    state, knot) in `knot_residual_planes`."""

    grids: list[np.ndarray]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    baseline: np.ndarray | None = None
    latent: np.ndarray | None = None
    time_weight: np.ndarray | None = None
    time_bias: np.ndarray | None = None
    detail: Tensor | None = None
    detail_colour: np.ndarray | None = None
    knot_residual: np.ndarray | None = None
    knot_residual_planes: list[list[int]] = field(default_factory=list)
    sun_weight: np.ndarray | None = None
    sun_bias: np.ndarray | None = None


def gridmlp_record(config: ModelConfig, arrays: GridMLPArrays, level: str, lid: int, width: int, height: int,
                   times: list[float], mask: np.ndarray | None, metadata: dict, name: str | None = None,
                   codec: str = "auto", quant_percentile: float | None = None) -> LightmapRecord:
    """mask: the [H, W] texels to decode (None: every texel); metadata: kept beside `model`.
    Grids, baseline, latent and knot residual are calibrated min/max (or at `quant_percentile`)."""
    cfg = config if arrays.knot_residual is not None else replace(config, knot_residual=KnotResidualConfig())
    tensors: dict[str, Tensor] = {}

    def affine(section: str, values: np.ndarray, bits: int, axis: int = -1) -> dict:
        x = np.asarray(values, np.float32)
        q = calibrate(x, bits=bits, axis=axis % x.ndim, percentile=quant_percentile)
        tensors[section] = Tensor(q.quantize(x), codec=codec, quant=q.to_json(), dtype=q.storage_dtype)
        return {"section": section, "shape": list(x.shape)}

    wdtype = np.float32 if cfg.mlp.weights == "float32" else np.float16  # 8-bit weights keep fp16 biases
    wquant = {"scheme": "float16"} if wdtype is np.float16 else None

    def plain(section: str, values: np.ndarray) -> None:
        tensors[section] = Tensor(np.asarray(values, np.float32).astype(wdtype), codec=codec, quant=wquant)

    levels = []
    for i, (values, resolution) in enumerate(zip(arrays.grids, cfg.grid.resolutions)):
        rows, cols, entries = level_table(i, cfg.grid, width, height)
        info = {"kind": "dense", "resolution": resolution, "channels": cfg.grid.channels, "cells": [rows, cols],
                **affine(f"grid{i}", values, cfg.grid.bits)}
        if entries:
            info.update(kind="hash", capacity=entries, seed=0, merge="concat",
                        index="(cx XOR cy * 2654435761) mod capacity")
        levels.append(info)
    latent = None
    if arrays.latent is not None:
        latent = affine("latent", arrays.latent, cfg.latent.bits)
        latent.update(channels=cfg.latent.channels, downsample=cfg.latent.downsample,
                      cells=list(arrays.latent.shape[:2]),
                      meaning="sampled like a dense level; its features follow the grid levels' in the MLP input")
    residual = {"enabled": arrays.baseline is not None}
    if arrays.baseline is not None:
        residual.update(affine("baseline", arrays.baseline, cfg.residual.bits),
                        downsample=cfg.residual.downsample, domain="value_transform")
    layers = []
    for i, (weight, bias) in enumerate(zip(arrays.weights, arrays.biases)):
        if cfg.mlp.weights == "uint8":
            affine(f"mlp{i}.weight", weight, MLP_WEIGHT_BITS, axis=0)
        else:
            plain(f"mlp{i}.weight", weight)
        plain(f"mlp{i}.bias", bias)
        layers.append({"weight": f"mlp{i}.weight", "bias": f"mlp{i}.bias",
                       "activation": "relu" if i < len(arrays.weights) - 1 else "none"})
    basis = {"k": cfg.basis.k}
    if arrays.time_weight is not None:
        plain("time.weight", arrays.time_weight)
        plain("time.bias", arrays.time_bias)
        basis.update(weight="time.weight", bias="time.bias",
                     meaning="b = weight @ time features + bias; value[c] = sum_j mlp_out[c*k + j] * b[j]")
    sun = None
    if cfg.sun.k:
        plain("sun.weight", arrays.sun_weight)
        plain("sun.bias", arrays.sun_bias)
        sun = {"k": cfg.sun.k, "width": cfg.sun.width, "weight": "sun.weight", "bias": "sun.bias",
               "meaning": "d = weight @ time features + bias; t_on, t_off = 12 + 8 tanh(the MLP's last two "
                          "outputs); value[c] += sigmoid((t - t_on) / width) sigmoid((t_off - t) / width) "
                          "* sum_j mlp_out[3k + c*sun.k + j] * d[j]"}
    detail = None
    if arrays.detail is not None:
        tensors["detail"] = replace(arrays.detail, codec=codec)
        plain("detail.colour", arrays.detail_colour)
        detail = {"section": "detail", "shape": list(arrays.detail.array.shape), "colour": "detail.colour",
                  "meaning": "a[c k + j] += colour[c, j] * detail[y, x, j] for j < channels"}
    knot_residual = None
    if arrays.knot_residual is not None:
        kr = cfg.knot_residual
        images = np.asarray(arrays.knot_residual, np.float32)
        peak = np.abs(images).max(axis=(1, 2, 3))
        peak = np.where(peak > 0, peak, 1.0).astype(np.float32)
        knot_residual = affine("knot_residual", knot_residual_compand(images, peak, kr.mu), kr.bits, axis=0)
        tensors["knot_residual.peak"] = Tensor(peak, codec=codec)
        knot_residual.update(peak="knot_residual.peak", planes=arrays.knot_residual_planes, downsample=kr.downsample,
                             meaning="image p = sign(c) peak[p] (exp(|c| ln(1 + mu)) - 1) / mu of the stored c "
                                     "(affine per image); v += sum over p of [lamp(t) == planes[p][0]] * hat "
                                     "weight of knot planes[p][1] at t * bilinear sample of image p")
    mask_meta = None
    if mask is not None:
        tensors["mask"] = Tensor(np.packbits(np.asarray(mask, bool).reshape(-1)), codec=codec)
        mask_meta = {"section": "mask", "encoding": "packbits, row-major, most significant bit first",
                     "meaning": "texel valid at any time; invalid texels decode to 0"}
    model_meta = {
        "type": MODEL_TYPE, "features": cfg.features, "config": cfg.to_json(),
        "levels": levels, "mlp": {"layers": layers, "inputs": "grid features (level-major)"
                                            + ("" if cfg.basis.k else ", time features")},
        "basis": basis,
        "sun": sun,
        "latent": latent,
        "detail": detail,
        "knot_residual": knot_residual,
        "time_encoding": {**cfg.time.__dict__, "wrap": 24.0},
        "residual": residual,
        "normalisation": {"xy": "cell coordinate g = (texel + 0.5) * cells / texels - 0.5, clamped to "
                                "[0, cells - 1]; bilinear between floor(g) (at most cells - 2) and the next cell",
                          "time": {"range": [0.0, 24.0], "wrap": 24.0, "lamps_on": "t < 6 or t > 18"},
                          "value_transform": cfg.value.__dict__},
        "mask": mask_meta,
        "producer_version": producer_string(),
    }
    return LightmapRecord(level, lid, width, height, [float(t) for t in times], tensors,
                          {"model": model_meta, **metadata}, name=name)
