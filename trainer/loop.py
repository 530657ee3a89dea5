"""Training lightmaps: one alone, or a group of one shape as one stacked model (torch.func: the
members' parameters along a leading model axis, one vmapped loss, one optimizer step), which trains
each member as it would train alone, up to the order of float sums: on a GPU a step's cost is
mostly kernel launches, which a group shares. Random texel x time batches, Adam with per-group
learning rates, checkpoints that make an interrupted run resume exactly where it stopped."""

import contextlib
import copy
import os
import signal
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, vmap

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
    seconds: float  # this lightmap's share of its group's training time
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


class StepLoss(nn.Module):
    """One lightmap's loss at one step, as a module around its model, so that torch.func evaluates
    it with one member's parameters (functional_call) or with a whole group's at once (vmap).
    `layout` gives the sizes; the tensors come with each call."""

    def __init__(self, model: GridMLP, layout: TrainingData, train: TrainConfig, side: int):
        super().__init__()
        self.model, self.layout, self.train, self.side = model, layout, train, side

    def forward(self, tensors: dict, draws: dict, frac: float):
        data = replace(self.layout, **tensors)
        if self.model.sun is not None:  # the sun window's gate narrows as training goes
            self.model.sun.progress = frac
        if self.model.time_layer is not None:
            loss, stats = basis_batch_loss(self.model, data, draws["idx"], self.train, frac)
        else:
            loss, stats = batch_loss(self.model, data, draws["idx"], draws["ti"], self.train, frac)
        if self.side:
            term = patch_ssim_loss(self.model, data, draws["corner"][0], draws["corner"][1], self.side,
                                   draws["ssim_times"])
            stats["ssim"] = 1 - term.detach()
            loss = loss + self.train.ssim_weight * term
        return loss, stats


def draw(gen: torch.Generator, shape: tuple[int, int, int], train: TrainConfig, basis: bool, side: int,
         device) -> dict:
    """One step's random draws for one lightmap of `shape` (height, width, times), from its own
    generator: texels, times (a basis model sees every time), and the SSIM patch's corner and times."""
    height, width, n_times = shape
    draws = {"idx": torch.randint(width * height, (train.batch,), generator=gen)}
    if not basis:
        draws["ti"] = torch.randint(n_times, (train.batch,), generator=gen)
    if side:
        y0 = torch.randint(height - side + 1, (1,), generator=gen)
        x0 = torch.randint(width - side + 1, (1,), generator=gen)
        draws["corner"] = torch.cat([y0, x0])
        draws["ssim_times"] = torch.arange(n_times) if basis else torch.randint(n_times, (1,), generator=gen)
    return {k: v.to(device) for k, v in draws.items()}


def quantised_at(train: TrainConfig, step: int) -> bool:
    """Whether step `step` of the main training samples through fake quantisation (QAT)."""
    return train.qat_fraction > 0 and step >= train.steps * (1 - train.qat_fraction)


def train_lightmap(lightmap: LightmapSet, config: ModelConfig, train: TrainConfig, device: str = "cpu",
                   checkpoint: Path | None = None, progress: Callable[[int, dict], None] | None = None,
                   stop_after: int | None = None) -> TrainResult:
    """Trains (or resumes from `checkpoint`) one lightmap: train_group of one. The config's
    `value.scale` is set from the data."""
    return train_group([lightmap], [config], train, device, checkpoint, progress, stop_after)[0]


def train_group(lightmaps: list[LightmapSet], configs: list[ModelConfig], train: TrainConfig, device: str = "cpu",
                checkpoint: Path | None = None, progress: Callable[[int, dict], None] | None = None,
                stop_after: int | None = None) -> list[TrainResult]:
    """Trains (or resumes from `checkpoint`) lightmaps of one size and time count together, each
    with its own config (the same but for `value.scale`, which is set from its data), seed and
    random draws, and returns each one's model, after the quantised fine-tune when
    `train.quant_finetune` asks for one (TrainResult.float_model: before it). `progress` hears the
    members' mean statistics. `stop_after` ends early (tests of resume)."""
    if (train.qat_fraction or train.quant_finetune) and train.quant_percentile is not None:
        raise ValueError("quantisation-aware training and the quantised fine-tune mirror the min/max range; "
                         "drop quant_percentile")
    if train.threads:
        torch.set_num_threads(train.threads)
    members = [member_loss(lightmap, config, train, device) for lightmap, config in zip(lightmaps, configs)]
    template, count = members[0], len(members)
    shapes = {(m.layout.height, m.layout.width, m.layout.times.numel()) for m in members}
    if len(shapes) > 1:
        raise ValueError(f"a group trains lightmaps of one size and time count, not {sorted(shapes)}")
    shape = shapes.pop()
    params = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in members]).requires_grad_()
              for n, _ in template.named_parameters()}
    buffers = {n: torch.stack([dict(m.named_buffers())[n] for m in members]) for n, _ in template.named_buffers()}
    if count == 1:
        tensors = template.layout.tensors()
    else:  # stacked once; the members' own copies go
        tensors = {k: torch.stack([m.layout.tensors()[k] for m in members]) for k in template.layout.tensors()}
        for m in members:
            m.layout = replace(m.layout, **{k: None for k in tensors})
    model = template.model
    names = {id(p): n for n, p in template.named_parameters()}
    hash_names = [names[id(g.values)] for g in model.grids if isinstance(g, HashGrid)]
    grid_names = [names[id(p)] for p in model.cell_parameters()]
    base_names = [names[id(model.baseline.values)]] if model.baseline is not None else []
    special = set(hash_names + grid_names + base_names)
    groups = [{"params": [params[n] for n in grid_names], "lr": train.lr_grid},
              {"params": [params[n] for n in params if n not in special], "lr": train.lr_mlp}]
    hash_group = len(groups) if hash_names else -1
    if hash_names:
        groups.append({"params": [params[n] for n in hash_names], "lr": train.lr_hash})
    if base_names:
        groups.append({"params": [params[n] for n in base_names], "lr": train.lr_baseline})
    optim = torch.optim.Adam(groups, betas=(0.9, 0.99), eps=1e-15)
    base_lrs = [g["lr"] for g in groups]
    gens = [torch.Generator(device="cpu").manual_seed(train.seed) for _ in members]
    step, seconds, histories, float_params = 0, 0.0, [[] for _ in members], None
    settings = settings_json(template.model.config, train)
    names_in_group = [list(lm.key) for lm in lightmaps]
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if "params" not in state or state.get("members") != names_in_group:
            raise ValueError(f"{checkpoint}: a checkpoint of other lightmaps or an earlier todlm; "
                             "delete it to start over")
        check_same_settings(state.get("settings"), settings, checkpoint)
        with torch.no_grad():
            for n, t in params.items():
                t.copy_(state["params"][n])
        optim.load_state_dict(state["optim"])
        for gen, gen_state in zip(gens, state["generators"]):
            gen.set_state(gen_state)
        step, seconds, histories = state["step"], state["seconds"], state["histories"]
        float_params = state["float_params"]

    def losses(draws: list[dict], frac: float):
        """[M] losses and {stat: [M]}: functional_call for one member, vmap for a group."""
        if count == 1:
            one = ({n: t[0] for n, t in params.items()}, {n: t[0] for n, t in buffers.items()})
            loss, stats = functional_call(template, one, (tensors, draws[0], frac))
            return loss[None], {k: torch.as_tensor(v)[None] for k, v in stats.items()}
        stacked = {k: torch.stack([d[k] for d in draws]) for k in draws[0]}
        each = vmap(lambda p, b, t, d: functional_call(template, (p, b), (t, d, frac)))
        return each(params, buffers, tensors, stacked)

    basis, side = model.time_layer is not None, template.side
    start = time.perf_counter() - seconds
    tuning = False
    with interrupts_at_step_ends() as interrupted:
        while step < train.total_steps:
            if step >= train.steps and not tuning:
                if step == train.steps:
                    float_params = {n: t.detach().clone() for n, t in params.items()}
                freeze_grids(model)
                for n, p in template.named_parameters():  # what freeze_grids froze, frozen in the stack
                    params[n].requires_grad_(p.requires_grad)
                tuning = True
            frac = min(step / max(train.steps - 1, 1), 1.0)
            frozen = hash_names and step < train.hash_warmup * train.steps
            for i, (g, lr) in enumerate(zip(optim.param_groups, base_lrs)):
                if tuning:
                    g["lr"] = lr * finetune_lr_factor(train, step)
                else:
                    g["lr"] = 0.0 if frozen and i != hash_group else lr * train.lr_final ** frac
            if not tuning:
                model.set_fake_quant(quantised_at(train, step))
            loss, stats = losses([draw(gen, shape, train, basis, side, device) for gen in gens], frac)
            optim.zero_grad(set_to_none=True)
            loss.sum().backward()
            optim.step()
            step += 1
            rows = [{k: float(v[i]) for k, v in stats.items()} for i in range(count)]
            if step == 1 or step % 50 == 0 or step in (train.steps, train.total_steps):
                for history, row in zip(histories, rows):
                    history.append({**row, "step": step})
            if progress is not None:
                progress(step, {k: sum(r[k] for r in rows) / count for k in rows[0]})
            done = step == train.total_steps or (stop_after is not None and step >= stop_after)
            if checkpoint is not None and (step % train.checkpoint_every == 0 or done or interrupted()):
                save_checkpoint(checkpoint, {"params": params, "optim": optim.state_dict(),
                                             "generators": [g.get_state() for g in gens], "step": step,
                                             "seconds": time.perf_counter() - start, "histories": histories,
                                             "settings": settings, "members": names_in_group,
                                             "float_params": float_params})
            if interrupted():
                raise KeyboardInterrupt
            if done:
                break
    seconds = time.perf_counter() - start
    tuned = bool(train.quant_finetune) and step >= train.steps
    results = []
    for i, member in enumerate(members):
        float_model = None
        if float_params is not None:
            float_model = copy.deepcopy(member.model)
            load_member(float_model, float_params, i)
            for grid in float_model.grids:
                grid.values.requires_grad_(True)
            float_model.set_fake_quant(quantised_at(train, train.steps - 1))
        load_member(member.model, params, i)
        if tuned:  # the state training ended in, resumed at the end or not
            freeze_grids(member.model)
        else:
            member.model.set_fake_quant(quantised_at(train, step - 1))
        results.append(TrainResult(member.model, seconds / count, step, histories[i], float_model))
    return results


def member_loss(lightmap: LightmapSet, config: ModelConfig, train: TrainConfig, device: str) -> StepLoss:
    """A lightmap's model, training data and loss, its model initialised from the run's seed as
    when it trains alone."""
    lightmap = training_view(lightmap, train)
    config.value.scale = value_scale(lightmap, config.value.transform)
    data = TrainingData.from_set(lightmap, config.value, device, train.balance_frames)
    torch.manual_seed(train.seed)
    model = make_model(lightmap, config, data).to(device)
    return StepLoss(model, data, train, patch_size(data, train.ssim_patch) if train.ssim_weight else 0)


def load_member(model: GridMLP, params: dict, i: int) -> None:
    """Member i's slice of stacked parameters (named as StepLoss names them) into its own model."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(params["model." + n][i])


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
        linear = value_transform.inverse(pred, model.config.value, data.scale)
        err = (linear - data.linear[t_index, idx]) ** 2 * data.weight[t_index, idx][:, None]
        lin_mse, psnr = linear_loss(err, t_index * data.n_tiles + data.tile[idx], data.weight[t_index, idx] > 0,
                                    data.times.numel() * data.n_tiles, train.tile_psnr)
        total = total + value_mse + train.linear_weight * lin_mse
        psnr_total = psnr_total + psnr
        preds.append((pred, target, mask))
    loss = total / 2
    stats = {"loss": loss.detach(), "psnr": psnr_total / 2}
    if train.temporal:
        (p0, g0, m0), (p1, g1, m1) = preds
        temporal = temporal_loss((p1 - p0) - (g1 - g0), data.pair_ok[ti][:, None] * m0 * m1, train.temporal_norm)
        loss = loss + temporal_weight(train, frac) * temporal
        stats["temporal"] = temporal.detach()
    return loss, stats


def basis_batch_loss(model: GridMLP, data: TrainingData, idx, train: TrainConfig, frac: float):
    """batch_loss for a factorised time basis: the coefficients of each texel are computed once
    and dotted with every training time's basis weights, so a step sees all frames."""
    width = data.width
    ys = torch.div(idx, width, rounding_mode="floor").float()
    xs = (idx % width).float()
    coef = model.coefficients(model.features(ys, xs), ys, xs)
    base = model.base(ys, xs)
    pred = model.at_times(coef, data.times) + base
    target, mask = data.target[:, idx], data.mask[:, idx][..., None]
    frames = data.frame_weight[:, None, None]
    value_mse = ((pred - target) ** 2 * mask * frames).mean()
    linear = value_transform.inverse(pred, model.config.value, data.scale)
    err = (linear - data.linear[:, idx]) ** 2 * data.weight[:, idx][..., None]
    n_times = data.times.numel()
    cell = torch.arange(n_times, device=idx.device)[:, None] * data.n_tiles + data.tile[idx][None]
    lin_mse, psnr = linear_loss(err.reshape(-1, 3), cell.reshape(-1), (data.weight[:, idx] > 0).reshape(-1),
                                n_times * data.n_tiles, train.tile_psnr)
    loss = value_mse + train.linear_weight * lin_mse
    stats = {"loss": loss.detach(), "psnr": psnr}
    if train.temporal:
        nxt = data.next_index
        temporal = temporal_loss((pred[nxt] - pred) - (target[nxt] - target),
                                 data.pair_ok[:, None, None] * mask * mask[nxt], train.temporal_norm)
        loss = loss + temporal_weight(train, frac) * temporal
        stats["temporal"] = temporal.detach()
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


def linear_loss(err, cell, counted, n_cells: int, tile_psnr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear per-tile-peak error of a batch, and the batch's estimate of the judge's mean
    PSNR. err: [N, 3] squared errors / peak^2; cell: [N] (time, tile) index; counted: [N] the
    texel counts for its tile. The judge averages PSNR in dB over (time, tile) cells, i.e.
    -10 log10 of each cell's MSE: `tile_psnr` = a weights each cell's error by (mean MSE / its
    own MSE)^a (floored at 70 dB), so a = 1 follows the gradient of that mean of logs, 0 weighs
    every texel alike, and the loss keeps the magnitude of the mean MSE. Means over the cells a
    batch sees are masked sums, not a selection, so that vmap can stack the members of a group."""
    sums = err.new_zeros(n_cells).index_add(0, cell, err.sum(-1))
    counts = err.new_zeros(n_cells).index_add(0, cell, 3.0 * counted.to(err.dtype))
    seen = (counts > 0).to(err.dtype)
    n_seen = seen.sum().clamp_min(1)
    cell_mse = sums / counts.clamp_min(1)
    psnr = (-10 * torch.log10(cell_mse.detach().clamp_min(1e-20)) * seen).sum() / n_seen
    if not tile_psnr:
        return err.mean(), psnr
    held = cell_mse.detach()
    weight = ((held * seen).sum() / n_seen / held.clamp_min(1e-7)) ** tile_psnr * seen
    return (cell_mse * weight).sum() / n_seen, psnr


def save_checkpoint(path: Path, state: dict) -> None:
    """At a step's end: everything the next step reads (and, inside the fine-tune, the float
    parameters that export compares against)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
