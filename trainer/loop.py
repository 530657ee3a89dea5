"""Training one lightmap: random texel x adjacent-time batches, Adam with per-group learning
rates, checkpoints that make an interrupted run resume exactly where it stopped."""

import contextlib
import copy
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import ModelConfig

from . import value_transform
from .data import TrainingData, value_scale
from .model import GridMLP, HashGrid
from .quant_finetune import finetune_lr_factor, freeze_grids
from .settings_stamp import check_same_settings, settings_json
from .ssim_loss import patch_size, patch_ssim_loss
from .train_config import TrainConfig, training_view


@dataclass
class TrainResult:
    model: GridMLP
    seconds: float
    steps: int
    history: list[dict]
    float_model: GridMLP | None = None  # before the quantised fine-tune (None: no fine-tune, or resumed past it)


def make_model(lightmap: LightmapSet, config: ModelConfig, data: TrainingData) -> GridMLP:
    model = GridMLP(config, lightmap.width, lightmap.height)
    if model.baseline is not None:
        with torch.no_grad():
            model.baseline.values.copy_(data.mean_target(*model.baseline.values.shape[:2]))
    if model.latent is not None:
        model.latent.set_image(data.mean_target(lightmap.height, lightmap.width))
    return model


def train_lightmap(lightmap: LightmapSet, config: ModelConfig, train: TrainConfig, device: str = "cpu",
                   checkpoint: Path | None = None, progress: Callable[[int, dict], None] | None = None,
                   stop_after: int | None = None) -> TrainResult:
    """Trains (or resumes from `checkpoint`) and returns the model, after the quantised fine-tune
    when `train.quant_finetune` asks for one (TrainResult.float_model: before it). The config's
    `value.scale` is set from the data. `stop_after` ends early (tests of resume)."""
    if (train.qat_fraction or train.quant_finetune) and train.quant_percentile is not None:
        raise ValueError("quantisation-aware training and the quantised fine-tune mirror the min/max range; "
                         "drop quant_percentile")
    torch.manual_seed(train.seed)
    if train.threads:
        torch.set_num_threads(train.threads)
    lightmap = training_view(lightmap, train)
    config.value.scale = value_scale(lightmap, config.value.transform)
    data = TrainingData.from_set(lightmap, config.value, device, train.balance_frames)
    model = make_model(lightmap, config, data).to(device)
    hash_params = [g.values for g in model.grids if isinstance(g, HashGrid)]
    grid_params = model.cell_parameters()
    base_params = [model.baseline.values] if model.baseline is not None else []
    special = {id(p) for p in grid_params + hash_params + base_params}
    groups = [{"params": grid_params, "lr": train.lr_grid},
              {"params": [p for p in model.parameters() if id(p) not in special], "lr": train.lr_mlp}]
    hash_group = len(groups) if hash_params else -1
    if hash_params:
        groups.append({"params": hash_params, "lr": train.lr_hash})
    if base_params:
        groups.append({"params": base_params, "lr": train.lr_baseline})
    optim = torch.optim.Adam(groups, betas=(0.9, 0.99), eps=1e-15)
    base_lrs = [g["lr"] for g in groups]
    gen = torch.Generator(device="cpu").manual_seed(train.seed)
    step, seconds, history, float_model = 0, 0.0, [], None
    settings = settings_json(config, train)
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        check_same_settings(state.get("settings"), settings, checkpoint)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        gen.set_state(state["generator"])
        step, seconds, history = state["step"], state["seconds"], state["history"]
        if state.get("float_model") is not None:  # stopped inside the fine-tune: the float model export compares
            float_model = copy.deepcopy(model)
            float_model.load_state_dict(state["float_model"])
    n_texels = data.width * data.height
    n_times = data.times.numel()
    side = patch_size(data, train.ssim_patch) if train.ssim_weight else 0
    start = time.perf_counter() - seconds
    tuning = False
    with interrupts_at_step_ends() as interrupted:
        while step < train.total_steps:
            if step >= train.steps and not tuning:
                if step == train.steps:
                    float_model = copy.deepcopy(model)
                freeze_grids(model)
                tuning = True
            frac = min(step / max(train.steps - 1, 1), 1.0)
            frozen = hash_params and step < train.hash_warmup * train.steps
            for i, (g, lr) in enumerate(zip(optim.param_groups, base_lrs)):
                if tuning:
                    g["lr"] = lr * finetune_lr_factor(train, step)
                else:
                    g["lr"] = 0.0 if frozen and i != hash_group else lr * train.lr_final ** frac
            if not tuning:
                model.set_fake_quant(train.qat_fraction > 0 and step >= train.steps * (1 - train.qat_fraction))
            idx = torch.randint(n_texels, (train.batch,), generator=gen).to(device)
            if model.time_layer is not None:
                loss, stats = basis_batch_loss(model, data, idx, train, frac)
            else:
                ti = torch.randint(n_times, (train.batch,), generator=gen).to(device)
                loss, stats = batch_loss(model, data, idx, ti, train, frac)
            if side:
                loss = loss + train.ssim_weight * ssim_term(model, data, side, gen, stats)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            if step == 1 or step % 50 == 0 or step in (train.steps, train.total_steps):
                stats["step"] = step
                history.append(stats)
            if progress is not None:
                progress(step, stats)
            done = step == train.total_steps or (stop_after is not None and step >= stop_after)
            if checkpoint is not None and (step % train.checkpoint_every == 0 or done or interrupted()):
                save_checkpoint(checkpoint, model, optim, gen, step, time.perf_counter() - start, history, settings,
                                float_model)
            if interrupted():
                raise KeyboardInterrupt
            if done:
                break
    if train.quant_finetune and step >= train.steps and not tuning:  # resumed at the end: the state it ended in
        freeze_grids(model)
    return TrainResult(model, time.perf_counter() - start, step, history, float_model)


@contextlib.contextmanager
def interrupts_at_step_ends():
    """Ctrl-C (SIGINT) during training takes effect at the end of the step it lands in: the loop
    checkpoints there and raises KeyboardInterrupt, so a resumed run neither redoes nor skips any
    of a step's random draws or updates and ends byte-identical to an uninterrupted one. A second
    Ctrl-C stops at once. Outside the main thread (no signal handlers there) SIGINT is untouched."""
    hit = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def on_sigint(signum, frame):
        if hit:
            raise KeyboardInterrupt
        hit.append(signum)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)


def ssim_term(model: GridMLP, data: TrainingData, side: int, gen: torch.Generator, stats: dict) -> torch.Tensor:
    """1 - SSIM on a random patch, at every time for a basis model (its frames come from one
    evaluation of the patch) and at one random time otherwise."""
    y0 = int(torch.randint(data.height - side + 1, (1,), generator=gen))
    x0 = int(torch.randint(data.width - side + 1, (1,), generator=gen))
    n_times = data.times.numel()
    times = torch.arange(n_times) if model.time_layer is not None else torch.randint(n_times, (1,), generator=gen)
    term = patch_ssim_loss(model, data, y0, x0, side, times.to(data.times.device))
    stats["ssim"] = 1 - float(term.detach())
    return term


def batch_loss(model: GridMLP, data: TrainingData, idx, ti, train: TrainConfig, frac: float):
    """Value-domain MSE + linear per-tile-peak MSE at two adjacent times of each texel, plus L1
    on their frame difference where no lamp switch lies between them."""
    width = data.width
    ys = torch.div(idx, width, rounding_mode="floor").float()
    xs = (idx % width).float()
    tj = data.next_index[ti]
    features = model.features(ys, xs)
    base = model.base(ys, xs)
    total, psnr_total = 0.0, 0.0
    preds = []
    for t_index in (ti, tj):
        pred = model.head(features, ys, xs, data.times[t_index]) + base
        target = data.target[t_index, idx]
        mask = data.mask[t_index, idx][:, None]
        frames = data.frame_weight[t_index][:, None]
        value_mse = ((pred - target) ** 2 * mask * frames).mean()
        linear = value_transform.inverse(pred, model.config.value)
        err = (linear - data.linear[t_index, idx]) ** 2 * data.weight[t_index, idx][:, None]
        lin_mse, psnr = linear_loss(err, t_index * data.n_tiles + data.tile[idx], data.weight[t_index, idx] > 0,
                                    data.times.numel() * data.n_tiles, train.tile_psnr)
        total = total + value_mse + train.linear_weight * lin_mse
        psnr_total = psnr_total + psnr
        preds.append((pred, target, mask))
    loss = total / 2
    stats = {"loss": float(loss.detach()), "psnr": psnr_total / 2}
    if train.temporal:
        (p0, g0, m0), (p1, g1, m1) = preds
        temporal = temporal_loss((p1 - p0) - (g1 - g0), data.pair_ok[ti][:, None] * m0 * m1, train.temporal_norm)
        loss = loss + temporal_weight(train, frac) * temporal
        stats["temporal"] = float(temporal.detach())
    return loss, stats


def basis_batch_loss(model: GridMLP, data: TrainingData, idx, train: TrainConfig, frac: float):
    """batch_loss for a factorised time basis: the coefficients of each texel are computed once
    and dotted with every training time's basis weights, so a step sees all frames."""
    width = data.width
    ys = torch.div(idx, width, rounding_mode="floor").float()
    xs = (idx % width).float()
    coef = model.coefficients(model.features(ys, xs), ys, xs)
    base = model.base(ys, xs)
    pred = torch.einsum("nck,tk->tnc", coef, model.basis_weights(data.times)) + base
    target, mask = data.target[:, idx], data.mask[:, idx][..., None]
    frames = data.frame_weight[:, None, None]
    value_mse = ((pred - target) ** 2 * mask * frames).mean()
    linear = value_transform.inverse(pred, model.config.value)
    err = (linear - data.linear[:, idx]) ** 2 * data.weight[:, idx][..., None]
    n_times = data.times.numel()
    cell = torch.arange(n_times, device=idx.device)[:, None] * data.n_tiles + data.tile[idx][None]
    lin_mse, psnr = linear_loss(err.reshape(-1, 3), cell.reshape(-1), (data.weight[:, idx] > 0).reshape(-1),
                                n_times * data.n_tiles, train.tile_psnr)
    loss = value_mse + train.linear_weight * lin_mse
    stats = {"loss": float(loss.detach()), "psnr": psnr}
    if train.temporal:
        nxt = data.next_index
        temporal = temporal_loss((pred[nxt] - pred) - (target[nxt] - target),
                                 data.pair_ok[:, None, None] * mask * mask[nxt], train.temporal_norm)
        loss = loss + temporal_weight(train, frac) * temporal
        stats["temporal"] = float(temporal.detach())
    return loss, stats


def temporal_loss(diff_error: torch.Tensor, ok: torch.Tensor, norm: str) -> torch.Tensor:
    """Mean L1 or squared error of the predicted frame differences (value domain) where `ok`:
    adjacent times on one side of a lamp switch. L2 is on the scale of the value-domain MSE, so
    it smooths the frame-to-frame error without outweighing the fit; L1 (the seed's form) has
    a constant pull that, at the same weights, costs PSNR (docs/decisions.md, "Loss")."""
    return ((diff_error.abs() if norm == "l1" else diff_error ** 2) * ok).mean()


def temporal_weight(train: TrainConfig, frac: float) -> float:
    w0, w1 = train.temporal_weight
    return w0 + (w1 - w0) * frac


def linear_loss(err, cell, counted, n_cells: int, tile_psnr: float) -> tuple[torch.Tensor, float]:
    """The linear per-tile-peak error of a batch, and the batch's estimate of the judge's mean
    PSNR. err: [N, 3] squared errors / peak^2; cell: [N] (time, tile) index; counted: [N] the
    texel counts for its tile. The judge averages PSNR in dB over (time, tile) cells, i.e.
    -10 log10 of each cell's MSE: `tile_psnr` = a weights each cell's error by (mean MSE / its
    own MSE)^a (floored at 70 dB), so a = 1 follows the gradient of that mean of logs, 0 weighs
    every texel alike, and the loss keeps the magnitude of the mean MSE."""
    sums = torch.zeros(n_cells, dtype=err.dtype, device=err.device).index_add_(0, cell, err.sum(-1))
    counts = torch.zeros(n_cells, dtype=err.dtype, device=err.device).index_add_(0, cell, 3.0 * counted.to(err.dtype))
    seen = counts > 0
    cell_mse = sums[seen] / counts[seen]
    psnr = float(-10 * torch.log10(cell_mse.detach().clamp_min(1e-20)).mean()) if cell_mse.numel() else 0.0
    if not tile_psnr:
        return err.mean(), psnr
    if not cell_mse.numel():
        return err.sum() * 0.0, psnr
    held = cell_mse.detach()
    weight = (held.mean() / held.clamp_min(1e-7)) ** tile_psnr
    return (cell_mse * weight).mean(), psnr


def save_checkpoint(path: Path, model, optim, gen, step: int, seconds: float, history: list,
                    settings: dict, float_model=None) -> None:
    """At a step's end: everything the next step reads (and, inside the fine-tune, the float model
    that export compares against)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "generator": gen.get_state(),
                "step": step, "seconds": seconds, "history": history, "settings": settings,
                "float_model": None if float_model is None else float_model.state_dict()}, tmp)
    os.replace(tmp, path)
