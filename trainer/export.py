"""Post-training quantisation and export: the float model becomes a container record (grids
and baseline as per-channel affine integers, MLP as fp16 or 8-bit weights per output row),
described by FORMAT.md's model metadata. Everything downstream (evaluation, decoding) reads
this record, not the model."""

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from todlm.decoder.api import Decoder
from todlm.format.container_writer import LightmapRecord, Tensor, producer_string, write_container
from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import MODEL_TYPE, KnotResidualConfig, knot_residual_compand
from todlm.format.quant import AffineQuant, calibrate

from .model import MLP_WEIGHT_BITS, GridMLP, HashGrid
from .train_config import TrainConfig


def export_record(model: GridMLP, lightmap: LightmapSet, train: TrainConfig, store_mask: bool = True,
                  codec: str = "auto", extra_metadata: dict | None = None) -> LightmapRecord:
    cfg = model.config
    if model.knot_residual is not None and not model.knot_residual.active:  # not fitted yet: it adds nothing
        cfg = replace(cfg, knot_residual=KnotResidualConfig())
    tensors: dict[str, Tensor] = {}

    def affine(name: str, values, bits: int, axis: int = -1) -> dict:
        x = values.detach().cpu().numpy().astype(np.float32)
        q = calibrate(x, bits=bits, axis=axis % x.ndim, percentile=train.quant_percentile)
        tensors[name] = Tensor(q.quantize(x), codec=codec, quant=q.to_json(), dtype=q.storage_dtype)
        return {"section": name, "shape": list(x.shape)}

    levels = []
    for i, (grid, resolution) in enumerate(zip(model.grids, cfg.grid.resolutions)):
        info = affine(f"grid{i}", grid.values, cfg.grid.bits)
        level = {"kind": "dense", "resolution": resolution, "channels": cfg.grid.channels, "cells": [grid.rows, grid.cols],
                 **info}
        if isinstance(grid, HashGrid):
            level.update(kind="hash", capacity=grid.entries, seed=0, merge="concat",
                         index="(cx XOR cy * 2654435761) mod capacity")
        levels.append(level)
    latent = None
    if model.latent is not None:
        with torch.no_grad():
            latent = affine("latent", model.latent.values, cfg.latent.bits)
        latent.update(channels=cfg.latent.channels, downsample=cfg.latent.downsample,
                      cells=[model.latent.rows, model.latent.cols],
                      meaning="sampled like a dense level; its features follow the grid levels' in the MLP input")
    residual = {"enabled": model.baseline is not None}
    if model.baseline is not None:
        residual.update(affine("baseline", model.baseline.values, cfg.residual.bits),
                        downsample=cfg.residual.downsample, domain="value_transform")
    wdtype = np.float32 if cfg.mlp.weights == "float32" else np.float16  # 8-bit weights keep fp16 biases
    wquant = {"scheme": "float16"} if wdtype is np.float16 else None
    layers = []
    for i, layer in enumerate(model.layers):
        if cfg.mlp.weights == "uint8":
            affine(f"mlp{i}.weight", layer.weight, MLP_WEIGHT_BITS, axis=0)
        else:
            tensors[f"mlp{i}.weight"] = Tensor(layer.weight.detach().cpu().numpy().astype(wdtype), codec=codec,
                                               quant=wquant)
        tensors[f"mlp{i}.bias"] = Tensor(layer.bias.detach().cpu().numpy().astype(wdtype), codec=codec, quant=wquant)
        layers.append({"weight": f"mlp{i}.weight", "bias": f"mlp{i}.bias",
                       "activation": "relu" if i < len(model.layers) - 1 else "none"})
    basis = {"k": cfg.basis.k}
    if model.time_layer is not None:
        for part in ("weight", "bias"):
            array = getattr(model.time_layer, part).detach().cpu().numpy().astype(wdtype)
            tensors[f"time.{part}"] = Tensor(array, codec=codec, quant=wquant)
        basis.update(weight="time.weight", bias="time.bias",
                     meaning="b = weight @ time features + bias; value[c] = sum_j mlp_out[c*k + j] * b[j]")
    detail = None
    if model.detail is not None:
        codes, step, zero = model.detail.quantiser()
        q = AffineQuant(cfg.detail.bits, 2, step.cpu().numpy().astype(np.float32),
                        np.full(cfg.detail.channels, zero, np.int64))
        tensors["detail"] = Tensor(codes.cpu().numpy().astype(np.uint8), codec=codec, quant=q.to_json(),
                                   dtype=q.storage_dtype)
        tensors["detail.colour"] = Tensor(model.detail.colour.detach().cpu().numpy().astype(wdtype), codec=codec,
                                          quant=wquant)
        detail = {"section": "detail", "shape": list(codes.shape), "colour": "detail.colour",
                  "meaning": "a[c k + j] += colour[c, j] * detail[y, x, j] for j < channels"}
    knot_residual = None
    if cfg.knot_residual.downsample:
        kr = cfg.knot_residual
        images = model.knot_residual.images.detach().cpu().numpy().astype(np.float32)
        peak = np.abs(images).max(axis=(1, 2, 3))
        peak = np.where(peak > 0, peak, 1.0).astype(np.float32)
        knot_residual = affine("knot_residual", torch.from_numpy(knot_residual_compand(images, peak, kr.mu)), kr.bits,
                               axis=0)
        tensors["knot_residual.peak"] = Tensor(peak, codec=codec)
        knot_residual.update(peak="knot_residual.peak", planes=model.knot_residual.pairs, downsample=kr.downsample,
                             meaning="image p = sign(c) peak[p] (exp(|c| ln(1 + mu)) - 1) / mu of the stored c "
                                     "(affine per image); v += sum over p of [lamp(t) == planes[p][0]] * hat "
                                     "weight of knot planes[p][1] at t * bilinear sample of image p")
    mask = None
    if store_mask:
        union = lightmap.masks.any(axis=0)
        tensors["mask"] = Tensor(np.packbits(union.reshape(-1)), codec=codec)
        mask = {"section": "mask", "encoding": "packbits, row-major, most significant bit first",
                "meaning": "texel valid at any time; invalid texels decode to 0"}
    model_meta = {
        "type": MODEL_TYPE, "schema": cfg.schema, "config": cfg.to_json(),
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
        "mask": mask,
        "producer_version": producer_string(),
    }
    metadata = {"model": model_meta, "training": train.to_json(), **(extra_metadata or {})}
    return LightmapRecord(lightmap.level, lightmap.id, lightmap.width, lightmap.height,
                          [float(t) for t in lightmap.times], tensors, metadata, name=lightmap.name)


def decoded_frames(record: LightmapRecord, times) -> np.ndarray:
    """[T, H, W, 3]: the record decoded by the torch-free decoder at `times`, as a file would be."""
    with tempfile.TemporaryDirectory() as tmp:
        return Decoder.open(write_container(Path(tmp) / "record.tlm", [record])).decode_frames(times)
