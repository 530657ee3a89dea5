"""The model variants as torch GridMLPs with random weights, and their exported artifacts: for
the tests that hold the trainer and the decoder to one function."""

import tempfile
from pathlib import Path

import torch

from todlm.format.container_writer import write_container
from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import ModelConfig
from todlm.trainer.export import export_record
from todlm.trainer.model import GridMLP
from todlm.trainer.train_config import TrainConfig


def random_model(config: ModelConfig, width: int, height: int, seed: int = 0) -> GridMLP:
    torch.manual_seed(seed)
    model = GridMLP(config, width, height)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.8, 0.8)
        if model.baseline is not None:
            model.baseline.values.uniform_(0.0, 1.0)
        if model.detail is not None:  # a plane of the size training gives it
            model.detail.values.normal_(0.0, 0.2)
        if model.knot_residual is not None:
            model.knot_residual.images.uniform_(-0.3, 0.3)
            model.knot_residual.active = True
        if model.latent is not None:
            model.latent.image.uniform_(0.0, 1.0)
            for p in model.latent.cnn.parameters():
                p.mul_(0.5)
    return model


def artifact(model: GridMLP, lightmap: LightmapSet, store_mask: bool = True, percentile=None) -> bytes:
    record = export_record(model, lightmap, TrainConfig(quant_percentile=percentile), store_mask=store_mask)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tlm"
        write_container(path, [record])
        return path.read_bytes()
