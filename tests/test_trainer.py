"""The trainer on tiny data: it learns, it resumes exactly, its time features match the
decoder's, lamp switching follows the HPRC rule, and what it exports decodes."""

import numpy as np
import pytest
import torch

from conftest import tiny_set
from todlm.decoder.api import Decoder
from todlm.decoder.time_features import time_features as np_time_features
from todlm.format.container import Container
from todlm.format.container_writer import write_container
from todlm.format.model_config import (BasisConfig, DetailConfig, GridConfig, KnotResidualConfig, LatentConfig,
                                       MLPConfig, ModelConfig, SunWindowConfig, TimeConfig, ValueConfig)
from todlm.trainer.export import export_record
from todlm.trainer.loop import train_lightmap
from todlm.trainer.quant_finetune import decoded_psnr, shipped_record
from todlm.trainer.time_encoding import time_features as torch_time_features
from todlm.trainer.train_config import TrainConfig


def tiny_config(encoding="hat", k: int = 0, hashed: bool = False, latent: int = 0, bits: int = 8,
                detail: int = 0, sun: int = 0) -> ModelConfig:
    grid = (GridConfig([4, 256], channels=2, bits=bits, hash_top_levels=1, hash_capacity=64) if hashed
            else GridConfig([4, 8], 2, bits=bits))
    return ModelConfig(grid=grid, time=TimeConfig(encoding), mlp=MLPConfig(hidden=8, layers=1), basis=BasisConfig(k=k),
                       latent=LatentConfig(channels=latent, downsample=4, hidden=8),
                       detail=DetailConfig(channels=detail, bits=2), sun=SunWindowConfig(k=sun))


@pytest.mark.parametrize("encoding", ["hat", "fourier"])
def test_time_features_match_between_trainer_and_decoder(encoding):
    cfg = TimeConfig(encoding, frequencies=5, knots=26)
    ts = np.concatenate([np.random.default_rng(0).uniform(0, 24, 200), [0.0, 5.9, 6.0, 18.0, 18.1, 24.0]])
    a = torch_time_features(torch.tensor(ts), cfg).numpy()
    b = np_time_features(ts, cfg)
    assert np.abs(a - b).max() < 1e-5


@pytest.mark.parametrize("t,on", [(5.9, 1.0), (6.0, 0.0), (12.0, 0.0), (18.0, 0.0), (18.1, 1.0), (0.0, 1.0),
                                  (24.0, 1.0), (5.999, 1.0), (18.001, 1.0)])
def test_lamp_bit_follows_the_hprc_rule(t, on):
    cfg = TimeConfig("hat")
    assert np_time_features(np.array([t]), cfg)[0, -1] == on
    assert torch_time_features(torch.tensor([t]), cfg)[0, -1].item() == on


def test_24_wraps_to_0():
    cfg = TimeConfig("hat", knots=24)
    assert np.allclose(np_time_features(np.array([24.0]), cfg), np_time_features(np.array([0.0]), cfg))


def smooth_set(h=16, w=24):
    """A sun-like gradient sweeping across the map plus a constant lamp glow at night."""
    times = np.array([0.0, 3.0, 5.9, 6.0, 9.0, 12.0, 15.0, 18.0, 18.1, 21.0])
    ys, xs = np.mgrid[0:h, 0:w] / max(h, w)
    frames = []
    for t in times:
        sun = max(np.sin(np.pi * (t - 6) / 12), 0.0) * (1 + np.cos(2 * np.pi * (xs - t / 24) + ys))
        lamp = (0.3 * np.exp(-((xs - 0.3) ** 2 + (ys - 0.2) ** 2) * 20)) if (t < 6 or t > 18) else 0.0
        frames.append(np.stack([sun + lamp, 0.8 * sun + lamp, 0.6 * sun + 0.5 * lamp], -1))
    from todlm.format.lightmap_set import LightmapSet

    return LightmapSet(np.array(frames, np.float32) + 0.01, times, np.ones((len(times), h, w), bool))


@pytest.mark.parametrize("k, hashed, latent, detail, sun", [(0, False, 0, 0, 0), (3, False, 0, 0, 0),
                                                            (3, True, 0, 0, 0), (3, False, 4, 0, 0),
                                                            (3, False, 0, 2, 0), (3, False, 0, 1, 2)])
def test_training_lowers_the_loss_on_tiny_data(k, hashed, latent, detail, sun):
    result = train_lightmap(smooth_set(), tiny_config(k=k, hashed=hashed, latent=latent, detail=detail, sun=sun),
                            TrainConfig(steps=200, batch=512))
    if sun:  # trained to the end: the gate at its decoding width; the sun layer learned something
        assert result.model.sun.width() == pytest.approx(result.model.config.sun.width)
        assert float(result.model.sun.layer.weight.detach().abs().sum()) > 0
    if detail:  # the plane learned something and its colour left zero
        assert float(result.model.detail.colour.detach().abs().sum()) > 0
    if hashed:
        from todlm.trainer.model import HashGrid

        assert isinstance(result.model.grids[1], HashGrid) and result.model.grids[1].values.shape == (64, 2)
    if latent:
        assert result.model.latent.values.shape == (4, 6, 4)
        assert float(result.model.latent.image.abs().sum()) > 0  # the encoder saw the baseline frame
    first, last = result.history[0], result.history[-1]
    assert first["step"] == 1 and last["step"] == 200
    assert last["loss"] < 0.3 * first["loss"] and last["psnr"] > first["psnr"] + 5


@pytest.mark.parametrize("latent, detail, finetune, stop, ssim, sun", [
    (0, 0, 0, 17, 0, 0), (2, 0, 0, 17, 0, 0), (0, 0, 10, 17, 0, 0), (0, 0, 10, 33, 0, 0), (0, 1, 10, 33, 0, 0),
    (0, 0, 0, 17, 0.1, 0), (0, 1, 10, 33, 0.1, 0), (0, 1, 10, 17, 0.1, 2)])
def test_resume_equals_uninterrupted(tmp_path, latent, detail, finetune, stop, ssim, sun):
    """Also across the quantised fine-tune: stopped before it (17) or inside it (33 of 30 + 10),
    and with the SSIM patch loss (its patches come from the checkpointed generator)."""
    lm = tiny_set()
    train = TrainConfig(steps=40 - finetune, batch=128, checkpoint_every=10, seed=3, quant_finetune=finetune,
                        ssim_weight=ssim, ssim_patch=11)
    config = tiny_config(latent=latent, k=2 if detail else 0, detail=detail, sun=sun)
    straight = train_lightmap(lm, config, train).model.state_dict()
    ckpt = tmp_path / "m.ckpt"
    train_lightmap(lm, config, train, checkpoint=ckpt, stop_after=stop)
    assert ckpt.exists()
    resumed = train_lightmap(lm, config, train, checkpoint=ckpt)
    assert resumed.steps == 40
    for name, value in straight.items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path):
    lm, ckpt = tiny_set(), tmp_path / "m.ckpt"
    train = TrainConfig(steps=20, batch=64, checkpoint_every=5)
    train_lightmap(lm, tiny_config(), train, checkpoint=ckpt, stop_after=7)
    with pytest.raises(ValueError, match=r"m\.ckpt: made with other training settings \(train\.lr_grid\)"):
        train_lightmap(lm, tiny_config(), TrainConfig(steps=20, batch=64, checkpoint_every=5, lr_grid=0.05),
                       checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"\(model\.grid\)"):
        train_lightmap(lm, tiny_config(bits=6), train, checkpoint=ckpt)
    assert train_lightmap(lm, tiny_config(), train, checkpoint=ckpt).steps == 20


def test_a_stamp_from_before_a_training_option_is_the_same_setting():
    from todlm.trainer.settings_stamp import check_same_settings, settings_json

    current = settings_json(tiny_config(), TrainConfig())
    old = {**current, "train": {**current["train"], "balance_frames": True}}
    check_same_settings(old, current, "m.ckpt")
    before_ssim = {**current, "train": {k: v for k, v in current["train"].items() if not k.startswith("ssim_")}}
    check_same_settings(before_ssim, current, "m.ckpt")  # a field added since counts as its default
    with pytest.raises(ValueError, match=r"\(train\.ssim_weight\)"):
        check_same_settings(before_ssim, settings_json(tiny_config(), TrainConfig(ssim_weight=0.1)), "m.ckpt")
    unbalanced = {**current, "train": {**current["train"], "balance_frames": False}}
    with pytest.raises(ValueError, match=r"\(train\.balance_frames\)"):
        check_same_settings(unbalanced, current, "m.ckpt")


def test_temporal_pairs_never_cross_the_lamp_switch():
    from todlm.trainer.data import TrainingData

    lm = tiny_set(times=(0.0, 5.9, 6.0, 12.0, 18.0, 18.1, 23.0))
    data = TrainingData.from_set(lm, tiny_config().value)
    pairs = {(float(data.times[i]), float(data.times[data.next_index[i]])): bool(data.pair_ok[i])
             for i in range(len(data.times))}
    assert pairs[(5.900000095367432, 6.0)] is False and pairs[(18.0, 18.100000381469727)] is False
    assert pairs[(6.0, 12.0)] is True and pairs[(23.0, 0.0)] is True


def test_temporal_loss_norms_and_pair_mask():
    from todlm.trainer.loop import temporal_loss

    diff = torch.tensor([[0.5, -2.0], [3.0, 1.0]])
    ok = torch.tensor([[1.0, 1.0], [0.0, 0.0]])  # the second pair crosses a lamp switch
    assert float(temporal_loss(diff, ok, "l1")) == pytest.approx((0.5 + 2.0) / 4)
    assert float(temporal_loss(diff, ok, "l2")) == pytest.approx((0.25 + 4.0) / 4)
    with pytest.raises(ValueError, match="temporal_norm"):
        TrainConfig(temporal_norm="l3")


def test_temporal_norm_reaches_the_basis_and_the_mlp_losses():
    lm = tiny_set(times=(5.0, 6.0, 7.0, 8.0))
    for k in (0, 3):
        first = {norm: train_lightmap(lm, tiny_config(k=k), TrainConfig(steps=2, batch=64, temporal_norm=norm))
                 .history[0]["temporal"] for norm in ("l1", "l2")}
        assert np.isfinite(list(first.values())).all() and first["l1"] > first["l2"] > 0


def test_fake_quantisation_equals_what_export_stores():
    from todlm.format.quant import calibrate
    from todlm.trainer.model import fake_quant

    values = torch.randn(5, 6, 3) * torch.tensor([1.0, 0.01, 30.0]) + torch.tensor([0.0, 0.5, -2.0])
    values.requires_grad_(True)
    for bits in (4, 8, 16):
        q = calibrate(values.detach().numpy(), bits=bits, axis=2)
        stored = q.dequantize(q.quantize(values.detach().numpy()))
        fake = fake_quant(values, bits)
        assert np.abs(fake.detach().numpy() - stored).max() <= 1e-6 * float(values.detach().abs().max())
        fake.sum().backward()
        assert torch.equal(values.grad, torch.ones_like(values))  # straight through
        values.grad = None


@pytest.mark.parametrize("bits", [8, 6, 4])
def test_qat_artifact_decodes_as_the_trained_model(tmp_path, bits):
    """With fake quantisation on at the end, the float model already sees the stored grids: its
    gap to the artifact is only the fp16 MLP weights, far below the post-training gap."""
    from todlm.trainer import value_transform

    lm = smooth_set()

    def gap(qat: float) -> float:
        result = train_lightmap(lm, tiny_config(bits=bits), TrainConfig(steps=40, batch=256, qat_fraction=qat))
        path = tmp_path / f"m{qat}.tlm"
        write_container(path, [export_record(result.model, lm, TrainConfig())])
        with Container.open(path) as c:
            assert c.lightmaps[0].sections["grid0"].dtype == f"uint{bits}"
        decoder = Decoder.open(path)
        with torch.no_grad():
            return max(float(np.abs(decoder.decode_frame(t) - value_transform.inverse(
                result.model.frame(t), result.model.config.value).numpy()).max()) for t in lm.times)

    qat_gap, ptq_gap = gap(0.5), gap(0.0)
    assert qat_gap < 0.2 * ptq_gap and qat_gap < 1e-3 * float(lm.frames.max())
    with pytest.raises(ValueError, match="min/max"):
        train_lightmap(lm, tiny_config(), TrainConfig(steps=2, qat_fraction=0.5, quant_percentile=99.0))


@pytest.mark.parametrize("k, hashed", [(0, False), (2, False), (2, True)])
def test_quantised_finetune_trains_all_but_the_grids_against_the_stored_grids(tmp_path, k, hashed):
    """The grids keep their float values (export calibrates the quantiser the fine-tune saw), the
    rest adapts, the artifact decodes as the fine-tuned model samples, and it is closer to the
    data than the plain PTQ artifact of the same float model (on data this small the model's own
    error dwarfs the rounding; bench/results/trainer.json shows the PTQ cost it recovers)."""
    from todlm.trainer import value_transform

    lm = smooth_set()
    config = tiny_config(k=k, hashed=hashed, bits=4)
    result = train_lightmap(lm, config, TrainConfig(steps=60, batch=256, quant_finetune=60))
    assert result.steps == 120 and result.float_model is not None
    before, after = result.float_model.state_dict(), result.model.state_dict()
    for name in before:
        assert torch.equal(before[name], after[name]) == name.startswith("grids."), name

    def artifact_error(model) -> tuple[float, float]:
        path = tmp_path / "m.tlm"
        write_container(path, [export_record(model, lm, TrainConfig())])
        decoder = Decoder.open(path)
        errors, gaps = [], []
        for i, t in enumerate(lm.times):
            decoded = decoder.decode_frame(t)
            with torch.no_grad():
                sampled = value_transform.inverse(model.frame(t), model.config.value).numpy()
            errors.append(float(np.mean((decoded - lm.frames[i]) ** 2)))
            gaps.append(float(np.abs(decoded - sampled).max()))
        return float(np.mean(errors)), max(gaps)

    tuned_error, tuned_gap = artifact_error(result.model)
    result.float_model.set_fake_quant(False)
    ptq_error, _ = artifact_error(result.float_model)
    assert tuned_gap < 1e-3 * float(lm.frames.max())
    assert tuned_error < 0.99 * ptq_error
    shipped = shipped_record(result.model, result.float_model, lm, TrainConfig())
    psnr = shipped.metadata["quant_finetune"]["training_psnr"]
    assert shipped.metadata["quant_finetune"]["kept"] == (psnr["fine_tuned"] >= psnr["plain_ptq"])
    assert decoded_psnr(shipped, lm) == max(psnr.values())
    assert "quant_finetune" not in shipped_record(result.float_model, None, lm, TrainConfig()).metadata
    with pytest.raises(ValueError, match="min/max"):
        train_lightmap(lm, tiny_config(), TrainConfig(steps=2, quant_finetune=2, quant_percentile=99.0))


@pytest.mark.parametrize("k, hashed, latent, detail, sun", [(0, False, 0, 0, 0), (2, False, 0, 0, 0),
                                                            (2, True, 0, 0, 0), (2, False, 2, 0, 0),
                                                            (2, False, 0, 2, 0), (2, False, 0, 1, 2)])
def test_exported_artifact_decodes_close_to_the_float_model(tmp_path, k, hashed, latent, detail, sun):
    lm = tiny_set()
    result = train_lightmap(lm, tiny_config(k=k, hashed=hashed, latent=latent, detail=detail, sun=sun),
                            TrainConfig(steps=60, batch=256))
    path = tmp_path / "m.tlm"
    write_container(path, [export_record(result.model, lm, TrainConfig())])
    decoder = Decoder.open(path)
    assert (decoder.width, decoder.height) == (lm.width, lm.height)
    from todlm.trainer import value_transform

    for t in lm.times:
        with torch.no_grad():
            fl = value_transform.inverse(result.model.frame(t), result.model.config.value).numpy()
        union = lm.masks.any(axis=0)
        err = np.abs(decoder.decode_frame(t) - fl)[union].max()
        assert err < 0.02 * max(fl.max(), 1e-3)


def test_mask_unlit_decodes_texels_dark_at_every_time_as_exactly_0(tmp_path):
    lm = smooth_set()
    lm.frames[:, 2:5, 3:9] = 0.0  # valid texels no light reaches at any time
    lm.frames[5, 4, 8] = 0.5  # lit once: it stays
    for unlit in (False, True):
        train = TrainConfig(steps=30, batch=64, quant_finetune=5, mask_unlit=unlit)
        result = train_lightmap(lm, tiny_config(k=3), train)
        path = tmp_path / f"unlit{unlit}.tlm"
        write_container(path, [shipped_record(result.model, result.float_model, lm, train)])
        decoder = Decoder.open(path)
        stored = decoder.weights.mask
        dark = np.zeros_like(stored)
        dark[2:5, 3:9] = True
        dark[4, 8] = False
        assert stored[dark].any() != unlit and stored[~dark].all()
        if unlit:
            assert (decoder.decode_frames(lm.times)[:, dark] == 0).all()


def test_hash_warmup_trains_the_hash_tables_alone_first():
    lm = smooth_set()
    train = TrainConfig(steps=10, batch=128, hash_warmup=0.5)
    early = train_lightmap(lm, tiny_config(hashed=True), train, stop_after=2).model.state_dict()
    later = train_lightmap(lm, tiny_config(hashed=True), train, stop_after=4).model.state_dict()
    done = train_lightmap(lm, tiny_config(hashed=True), train).model.state_dict()
    assert not torch.equal(early["grids.1.values"], later["grids.1.values"])  # the hashed level learns
    for name in early:
        if name != "grids.1.values":
            assert torch.equal(early[name], later[name]), name  # everything else waits
    assert not torch.equal(later["grids.0.values"], done["grids.0.values"])


def test_balanced_frames_weigh_a_dark_time_as_much_as_a_bright_one():
    from todlm.trainer.data import TrainingData

    lm = smooth_set()
    lm.frames[0] *= 0.01  # one much darker time
    data = TrainingData.from_set(lm, ValueConfig(gamma=2.0))
    square = ((data.target ** 2).sum(-1) * data.mask).sum(1) / (3 * data.mask.sum(1))
    weighted = data.frame_weight * square  # every time's weighted mean square is the same
    assert torch.allclose(weighted, weighted.mean().expand_as(weighted), rtol=1e-4)
    assert data.frame_weight[0] > 50 * data.frame_weight[5]
    train = TrainConfig(steps=6, batch=64, balance_frames="median")
    for k in (0, 2):  # per-time batches and the time basis's all-times batches
        assert train_lightmap(lm, tiny_config(k=k), train).steps == 6


def test_median_balance_follows_the_typical_texel_not_a_hot_spot():
    from todlm.trainer.data import TrainingData

    lm = smooth_set()
    lm.frames[0] *= 0.01
    lm.frames[0, 0, 0] = lm.frames[1:].max() * 4  # a lamp: rules frame 0's mean square, not its median
    by_square = TrainingData.from_set(lm, ValueConfig(gamma=2.0)).frame_weight
    by_median = TrainingData.from_set(lm, ValueConfig(gamma=2.0), balance="median")
    median = torch.stack([by_median.target[i][by_median.mask[i] > 0].median() for i in range(lm.n_times)])
    weighted = by_median.frame_weight * median ** 2
    assert torch.allclose(weighted, weighted.mean().expand_as(weighted), rtol=1e-4)
    assert by_median.frame_weight[0] > 10 * by_square[0]
    unbalanced = TrainingData.from_set(lm, ValueConfig(gamma=2.0), balance="none").frame_weight
    assert torch.equal(unbalanced, torch.ones_like(unbalanced))
    assert TrainConfig(balance_frames=True).balance_frames == "mean-square"  # configs stored as a bool
    assert TrainConfig(balance_frames=False).balance_frames == "none"
    with pytest.raises(ValueError, match="balance_frames"):
        TrainConfig(balance_frames="mean")


def test_tile_psnr_loss_follows_the_judges_mean_of_decibels():
    from todlm.trainer.loop import linear_loss

    rng = np.random.default_rng(0)
    err = torch.tensor(rng.random((40, 3)) * np.repeat([1e-2, 1e-4, 1e-6, 0.0], 10)[:, None], requires_grad=True)
    cell = torch.tensor(np.repeat([0, 1, 2, 3], 10))
    counted = torch.tensor(np.repeat([True, True, True, False], 10))
    plain, psnr = linear_loss(err, cell, counted, 5, tile_psnr=0.0)
    assert torch.allclose(plain, err.mean())
    mse = np.array([err[i * 10:(i + 1) * 10].detach().numpy().mean() for i in range(3)])
    assert psnr == pytest.approx(float(np.mean(-10 * np.log10(mse))))  # the uncounted cell and the empty one drop out
    loss, _ = linear_loss(err, cell, counted, 5, tile_psnr=1.0)
    loss.backward()
    got = err.grad.clone()
    err.grad = None
    cells = torch.stack([err[i * 10:(i + 1) * 10].mean() for i in range(3)])
    (torch.log(cells).mean() * float(mse.mean())).backward()  # the gradient of the mean log MSE, at the MSE's scale
    assert torch.allclose(got, err.grad, rtol=1e-6)
    assert float(got[0, 0]) / float(got[20, 0]) == pytest.approx(mse[2] / mse[0], rel=1e-6)  # ~40 dB better: ~1e4 x


def test_knot_residual_is_fitted_to_the_artifact_error_and_decodes_as_the_torch_model(tmp_path):
    """Unfitted, the knot residual adds nothing and is not stored; shipped_record fits it by least
    squares to the artifact's error at the training times (so that error falls), stores it, and
    the decoder, from knot planes or uncached, decodes what the torch model predicts."""
    from dataclasses import replace

    from todlm.trainer import value_transform

    lm = tiny_set(times=(0.0, 3.0, 5.9, 6.0, 12.0, 18.1, 21.0))
    config = replace(tiny_config(k=2), knot_residual=KnotResidualConfig(downsample=4))
    result = train_lightmap(lm, config, TrainConfig(steps=60, batch=256))
    plain = export_record(result.model, lm, TrainConfig())
    assert plain.metadata["model"]["knot_residual"] is None and "knot_residual" not in plain.tensors
    shipped = shipped_record(result.model, None, lm, TrainConfig())
    assert "knot_residual" in shipped.metadata["model"]["features"] and result.model.knot_residual.active
    assert decoded_psnr(shipped, lm) > decoded_psnr(plain, lm)
    path = write_container(tmp_path / "m.tlm", [shipped])
    union = lm.masks.any(axis=0)
    for cache in ("knots", "none"):
        decoder = Decoder.open(path, cache=cache)
        for t in (*lm.times, 13.3):
            with torch.no_grad():
                fl = value_transform.inverse(result.model.frame(t), config.value).numpy()
            assert np.abs(decoder.decode_frame(t) - fl)[union].max() < 0.02 * max(fl.max(), 1e-3), (cache, t)


def test_knot_residual_is_fitted_only_past_its_flip_floor():
    """With train.knot_residual_flip > 0, shipped_record fits and stores the knot residual only when
    the export's mean HDR-FLIP on the training frames exceeds it, and says so in the metadata."""
    from dataclasses import replace

    from todlm.metrics.flip import mean_flip
    from todlm.trainer.export import decoded_frames

    lm = tiny_set(times=(0.0, 5.9, 6.0, 12.0, 18.1, 21.0))
    config = replace(tiny_config(k=2), knot_residual=KnotResidualConfig(downsample=4))
    result = train_lightmap(lm, config, TrainConfig(steps=40, batch=256))
    flip = mean_flip(lm, decoded_frames(export_record(result.model, lm, TrainConfig()), lm.times))
    assert flip > 0.0
    kept_off = shipped_record(result.model, None, lm, TrainConfig(knot_residual_flip=flip * 1.01))
    assert "knot_residual" not in kept_off.tensors and kept_off.metadata["model"]["knot_residual"] is None
    assert kept_off.metadata["knot_residual_gate"] == {"flip": round(flip, 4), "above": flip * 1.01, "fitted": False}
    assert not result.model.knot_residual.active
    fitted = shipped_record(result.model, None, lm, TrainConfig(knot_residual_flip=flip * 0.99))
    assert "knot_residual" in fitted.tensors and fitted.metadata["knot_residual_gate"]["fitted"]
