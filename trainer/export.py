"""Post-training quantisation and export: the float model becomes a container record (grids
and baseline as per-channel affine integers, MLP as fp16 or 8-bit weights per output row),
described by decoder/MODEL.md. Everything downstream (evaluation, decoding) reads
this record, not the model."""

import tempfile
from pathlib import Path

import numpy as np
import torch

from todlm.decoder.api import Decoder
from todlm.decoder.weights import GridMLPArrays, gridmlp_record
from todlm.format.container_writer import LightmapRecord, write_container
from todlm.format.lightmap_set import LightmapSet

from .model import GridMLP
from .train_config import TrainConfig


def export_record(model: GridMLP, lightmap: LightmapSet, train: TrainConfig, store_mask: bool = True,
                  codec: str = "auto", extra_metadata: dict | None = None) -> LightmapRecord:
    return gridmlp_record(model.config, model_arrays(model), lightmap.level, lightmap.id, lightmap.width,
                          lightmap.height, list(lightmap.times), lightmap.masks.any(axis=0) if store_mask else None,
                          {"training": train.to_json(), **(extra_metadata or {})}, name=lightmap.name, codec=codec,
                          quant_percentile=train.quant_percentile)


def model_arrays(model: GridMLP) -> GridMLPArrays:
    """The trained model's values as the record takes them (each optional part writes its own)."""
    def numpy(values) -> np.ndarray:
        return values.detach().cpu().numpy().astype(np.float32)

    with torch.no_grad():
        arrays = GridMLPArrays([numpy(grid.values) for grid in model.grids],
                               [numpy(layer.weight) for layer in model.layers],
                               [numpy(layer.bias) for layer in model.layers])
        if model.baseline is not None:
            arrays.baseline = numpy(model.baseline.values)
        if model.latent is not None:
            arrays.latent = numpy(model.latent.values)
    if model.time_layer is not None:
        arrays.time_weight, arrays.time_bias = numpy(model.time_layer.weight), numpy(model.time_layer.bias)
    for part in model.parts():
        part.export_into(arrays)
    return arrays


def decoded_frames(record: LightmapRecord, times) -> np.ndarray:
    """[T, H, W, 3]: the record decoded by the torch-free decoder at `times`, as a file would be."""
    with tempfile.TemporaryDirectory() as tmp:
        return Decoder.open(write_container(Path(tmp) / "record.tlm", [record])).decode_frames(times)
