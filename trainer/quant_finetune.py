"""The quantised fine-tune: after the main steps the grids stay fixed and are sampled as export
will store them, while the MLP, time layer and baseline train on against them. They learn to
absorb the grids' 8-bit rounding, which post-training quantisation alone leaves in the output
(bench/results/trainer.json: `default` on the sample loses 0.23 dB to plain PTQ, 0.09 after)."""

from typing import Callable

import numpy as np

from todlm.format.container_writer import LightmapRecord
from todlm.format.lightmap_set import LightmapSet
from todlm.metrics.flip import mean_flip
from todlm.metrics.hprc import score_frames

from .export import decoded_frames, export_record
from .knot_residual_fit import fit_knot_residual
from .model import GridMLP
from .train_config import TrainConfig, training_view

LR_FRACTION = 0.1  # the fine-tune's learning rates, as a fraction of each group's base rate


def freeze_grids(model: GridMLP) -> None:
    """Grids (dense and hashed) stop training and are sampled through the export's quantiser; the
    float values stay, so export calibrates exactly the quantiser the fine-tune saw."""
    for grid in model.grids:
        grid.values.requires_grad_(False)
    model.set_fake_quant(True)


def finetune_lr_factor(train: TrainConfig, step: int) -> float:
    """Multiplier of each group's base learning rate at fine-tune step `step` (counted from 0 at
    the start of training): LR_FRACTION, decaying by train.lr_final over the fine-tune."""
    done = (step - train.steps) / max(train.quant_finetune - 1, 1)
    return LR_FRACTION * train.lr_final ** done


def shipped_record(model: GridMLP, float_model: GridMLP | None, lightmap: LightmapSet, train: TrainConfig,
                   extra_metadata: dict | None = None, status: Callable[[str], None] = lambda text: None,
                   **export_options) -> LightmapRecord:
    """The record todlm writes for a trained lightmap (TrainResult's model and float_model): the
    fine-tuned model's, unless the float model's plain PTQ export decodes the training frames
    with a higher HPRC PSNR (on sequences of 2-3 frames the fine-tune can lose a few tenths of a
    dB). Its metadata says which, with both PSNRs. A model with a knot residual has it fitted to
    the chosen export's error, and is exported again with it; with train.knot_residual_flip > 0
    only when that export's mean HDR-FLIP on the training frames exceeds it (a quality floor:
    the residual multiplies the size, and pays only where the compact model leaves visible
    hour-to-hour error; docs/decisions.md). The metadata's `knot_residual_gate` says which.
    `status` hears each step that can take minutes."""
    status("export: choosing fine-tuned or plain PTQ")
    lightmap = training_view(lightmap, train)
    tuned = export_record(model, lightmap, train, extra_metadata=extra_metadata, **export_options)
    chosen, chosen_model, frames = tuned, model, None
    if float_model is not None:
        plain = export_record(float_model, lightmap, train, extra_metadata=extra_metadata, **export_options)
        candidates = {"fine_tuned": decoded_frames(tuned, lightmap.times),
                      "plain_ptq": decoded_frames(plain, lightmap.times)}
        psnr = {name: frames_psnr(f, lightmap) for name, f in candidates.items()}
        if psnr["fine_tuned"] < psnr["plain_ptq"]:
            chosen, chosen_model = plain, float_model
        frames = candidates["fine_tuned" if chosen is tuned else "plain_ptq"]
        extra_metadata = {**(extra_metadata or {}),
                          "quant_finetune": {"kept": chosen is tuned, "training_psnr": psnr}}
        chosen.metadata.update(quant_finetune=extra_metadata["quant_finetune"])
    if chosen_model.knot_residual is None:
        return chosen
    frames = frames if frames is not None else decoded_frames(chosen, lightmap.times)
    if train.knot_residual_flip > 0:
        status(f"export: HDR-FLIP of {len(lightmap.times)} frames (knot residual floor {train.knot_residual_flip:g})")
        flip = mean_flip(lightmap, frames)  # NaN where a frame has no valid texel: then nothing to fit
        gate = {"flip": round(flip, 4) if np.isfinite(flip) else None, "above": train.knot_residual_flip,
                "fitted": bool(flip > train.knot_residual_flip)}
        extra_metadata = {**(extra_metadata or {}), "knot_residual_gate": gate}
        if not gate["fitted"]:
            chosen.metadata.update(knot_residual_gate=gate)
            return chosen
    status("export: fitting the knot residual")
    fit_knot_residual(chosen_model, frames, lightmap)
    for other in (model, float_model):  # the same images, so float and shipped models compare like for like
        if other is not None and other is not chosen_model:
            other.knot_residual.images.copy_(chosen_model.knot_residual.images)
            other.knot_residual.active = True
    return export_record(chosen_model, lightmap, train, extra_metadata=extra_metadata, **export_options)


def decoded_psnr(record: LightmapRecord, lightmap: LightmapSet) -> float:
    """HPRC PSNR of the record's decoded frames at the lightmap's times (the torch-free decoder)."""
    return frames_psnr(decoded_frames(record, lightmap.times), lightmap)


def frames_psnr(frames: np.ndarray, lightmap: LightmapSet) -> float:
    """HPRC PSNR of decoded frames [T, H, W, 3] at the lightmap's times."""
    return float(score_frames(lightmap.frames, frames, lightmap.masks)["psnr"])
