"""The codec-family trials run every family through the trainer's loop at the base variant's size
and count each at its shipped widths; the moving-shadow figure puts the cross-fade's error and a
model's side by side."""

import numpy as np
import pytest

from conftest import tiny_set
from todlm.bench import codec_families, moving_shadow
from todlm.bench.suite import Dataset
from todlm.format.lightmap_set import LightmapSet


def test_every_family_trains_and_is_counted_at_its_shipped_size():
    train = tiny_set(times=(0.0, 6.0, 9.0, 12.0, 15.0, 18.0, 18.1), h=12, w=16)
    unseen = tiny_set(times=(10.5, 20.0), h=12, w=16, seed=1)
    rows = {name: codec_families.trial(name, Dataset("tiny", "tod", train, unseen), steps=3)
            for name in codec_families.FAMILIES}
    for name, row in rows.items():
        assert row["family"] == name and row["steps"] == 3 and row["config"]["train"]["quant_finetune"] == 0
        assert np.isfinite(row["psnr"]) and np.isfinite(row["unseen_day_psnr"]) and row["bytes"] > 0
    assert rows["sun-window"]["config"]["model"]["sun"]["k"] == 4
    assert rows["gridmlp"]["config"]["model"]["sun"]["k"] == 0
    # the sun layer and the window's extra outputs cost float16 bytes; 4-bit grids of twice the channels
    # cost what 8-bit grids of the base do, give or take the MLP's wider first layer
    assert rows["sun-window"]["bytes"] > rows["gridmlp"]["bytes"]
    assert rows["lowbit-grids"]["config"]["model"]["grid"]["bits"] == 4


def test_shipped_bytes_count_grids_at_their_bits_and_the_rest_as_float16():
    from todlm.trainer.model import GridMLP
    from todlm.trainer.run_config import from_document

    run = from_document(codec_families.family_document("gridmlp", 10))
    model = GridMLP(run.model, 16, 12)
    grids = sum(g.values.numel() for g in model.grids)
    plane = model.detail.values.numel()
    rest = sum(p.numel() for p in model.parameters()) - grids - plane
    bits = run.model.grid.bits
    assert codec_families.shipped_bytes(model) == int(np.ceil(grids * bits / 8 + plane * run.model.detail.bits / 8
                                                              + 2 * rest))


def test_the_moving_shadow_figure_shows_ground_truth_cross_fade_and_model_per_time():
    h, w = 8, 10
    times = np.array([8.0, 9.0, 10.0])
    frames = np.zeros((3, h, w, 3), np.float32)
    for i, edge in enumerate((2, 5, 8)):  # a shadow edge moving right, 3 texels an hour
        frames[i, :, :edge] = 1.0
        frames[i] += 0.1
    train = LightmapSet(frames[[0, 2]], times[[0, 2]], np.ones((2, h, w), bool))
    truth = LightmapSet(frames[[1]], times[[1]], np.ones((1, h, w), bool))
    image, rows = moving_shadow.figure(truth, train, frames[[1]] + 0.001)
    assert image.size == (3 * w, h) and len(rows) == 1 and rows[0]["time"] == 9.0
    assert rows[0]["psnr_model"] > rows[0]["psnr_crossfade"] + 20  # the fade ghosts the edge; this "model" does not
    assert rows[0]["psnr_crossfade"] == pytest.approx(
        10 * np.log10(1.1 ** 2 / np.mean((0.5 * (frames[0] + frames[2]) - frames[1]) ** 2)), abs=1e-3)
