"""The quantised fine-tune: after the main steps the grids stay fixed and are sampled as export
will store them, while the MLP, time layer and baseline train on against them. They learn to
absorb the grids' 8-bit rounding, which post-training quantisation alone leaves in the output
(bench/results/trainer.json: `default` on the sample lost 0.26 dB to PTQ before, ~0.1 after)."""

from .model import GridMLP
from .train_config import TrainConfig

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
