"""The SSIM patch loss is the judge's SSIM map (torchmetrics' window and constants, the tile's
data range) at the patch's interior positions."""

import numpy as np
import pytest
import torch
from scipy.ndimage import correlate1d

from conftest import tiny_set
from test_trainer import tiny_config
from todlm.metrics.hprc import iter_tiles
from todlm.metrics.ssim import K1, K2, gaussian_window
from todlm.trainer import value_transform
from todlm.trainer.data import TrainingData, value_scale
from todlm.trainer.loop import make_model, train_lightmap
from todlm.trainer.ssim_loss import patch_size, patch_ssim_loss
from todlm.trainer.train_config import TrainConfig


def valid_blur(img: np.ndarray) -> np.ndarray:
    w = gaussian_window()
    half = (w.size - 1) // 2
    out = correlate1d(correlate1d(img, w, axis=0, mode="constant"), w, axis=1, mode="constant")
    return out[half:-half, half:-half]


def reference_ssim_map(rec: np.ndarray, gt: np.ndarray, span: np.ndarray) -> np.ndarray:
    """[h, w, 3] images, span: [h-10, w-10] data range at each interior position."""
    c1, c2 = (K1 * span[..., None]) ** 2, (K2 * span[..., None]) ** 2
    mr, mg = valid_blur(rec), valid_blur(gt)
    vr = np.maximum(valid_blur(rec * rec) - mr * mr, 0)
    vg = np.maximum(valid_blur(gt * gt) - mg * mg, 0)
    cov = valid_blur(rec * gt) - mr * mg
    return ((2 * mr * mg + c1) * (2 * cov + c2)) / ((mr ** 2 + mg ** 2 + c1) * (vr + vg + c2))


@pytest.mark.parametrize("k", [0, 3])
def test_patch_loss_is_one_minus_the_judges_ssim_map(k):
    lm = tiny_set(h=40, w=300, times=(0.0, 6.0, 12.0))  # two HPRC tiles across, masked texels on the left
    config = tiny_config(k=k)
    config.value.scale = value_scale(lm, config.value.transform)
    data = TrainingData.from_set(lm, config.value)
    model = make_model(lm, config, data)
    y0, x0, size = 3, 240, 30  # straddles the tile edge at x = 256
    times = torch.tensor([0, 2])
    loss = patch_ssim_loss(model, data, y0, x0, size, times)
    maps = []
    for ti in times.tolist():
        with torch.no_grad():
            frame = value_transform.inverse(model.frame(float(lm.times[ti])), config.value).numpy()
        rec = np.where(lm.masks[ti][..., None], frame, 0)[y0:y0 + size, x0:x0 + size].astype(np.float64)
        gt = np.where(lm.masks[ti][..., None], lm.frames[ti], 0)[y0:y0 + size, x0:x0 + size].astype(np.float64)
        span = np.zeros(lm.frames.shape[1:3])
        for ys, xs in iter_tiles(*span.shape):
            span[ys, xs] = lm.frames[ti][ys, xs].max() - lm.frames[ti][ys, xs].min()
        maps.append(reference_ssim_map(rec, gt, span[y0 + 5:y0 + size - 5, x0 + 5:x0 + size - 5]))
    assert float(loss.detach()) == pytest.approx(float(np.mean(1 - np.array(maps))), rel=1e-4, abs=1e-6)


def test_uncounted_tiles_weigh_nothing_and_small_lightmaps_take_no_patch():
    lm = tiny_set(h=16, w=16, times=(0.0, 12.0))
    lm.frames[1] = 0.0  # a black frame: its tile is not counted
    config = tiny_config(k=2)
    config.value.scale = value_scale(lm, config.value.transform)
    data = TrainingData.from_set(lm, config.value)
    model = make_model(lm, config, data)
    both = patch_ssim_loss(model, data, 0, 0, 16, torch.tensor([0, 1]))
    first = patch_ssim_loss(model, data, 0, 0, 16, torch.tensor([0]))
    both, first = both.detach(), first.detach()
    assert torch.isfinite(both) and float(both) == pytest.approx(float(first), rel=1e-5)
    assert patch_size(data, 48) == 16
    assert patch_size(TrainingData.from_set(tiny_set(h=8, w=30), config.value), 48) == 0


def test_training_with_the_ssim_loss_reports_it():
    result = train_lightmap(tiny_set(h=16, w=24), tiny_config(k=2), TrainConfig(steps=30, batch=64, ssim_weight=0.1,
                                                                               ssim_patch=12))
    ssim = [h["ssim"] for h in result.history]
    assert all(0 < s <= 1 for s in ssim) and ssim[-1] > ssim[0]
