"""A GridMLP model's container record (decoder/MODEL.md) from plain float32 arrays, torch-free:
the trainer's export writes through it, and so can tests or any other producer, so the
sections' layout and metadata live beside the reader (weights.py) and nowhere else."""

from dataclasses import dataclass, field, replace

import numpy as np

from todlm.format.container_writer import LightmapRecord, Tensor, producer_string
from todlm.format.model_config import (MODEL_TYPE, KnotResidualConfig, ModelConfig, knot_residual_compand,
                                      level_table)
from todlm.format.quant import calibrate

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
