"""Codec-family trials (issue: a codec at half today's size): candidate model families, each a
GridMLP subclass trained by the trainer's own loop and losses at the `small-detail` variant's size
(HPRC ratio 0.005; 3 grid channels up to level 104, a 56-wide MLP, a 2-bit detail plane), so
that what differs between rows is the representation. A trial scores the trained torch model
with its grids (and planes) sampled through 8-bit fake quantisation, as export would store
them, and counts its bytes at shipped widths (grids and planes 8 bits or `grid.bits`, the detail
plane at its bits, the rest float16); a family that wins here gets the full path (container
sections, numpy reference, numba kernels, parity tests) and real bench rows.

Families:
- `gridmlp`: today's family (dense xy grids -> MLP -> time-basis coefficients, a detail plane).
- `sun-window`: beside the time basis, a sun term gated per texel by a visibility window in time,
  v += g(x, t) e(x) . d(t), g = sigmoid((t - t_on(x)) / w) sigmoid((t_off(x) - t) / w), t_on and
  t_off from the MLP: a shadow edge moves continuously with t instead of cross-fading (the
  model's `sun` part, ModelConfig.sun, since it won here).
- `time-planes`: xt and yt planes (the planes' product) and a low-resolution xyt volume, hat-
  interpolated over 24 knots, mapped linearly and added in the value domain (NDGI's time planes,
  beside todlm's xy grids), in the bytes of the finest xy level, which it drops.
- `lowbit-grids`: twice the grid channels at 4 bits, with quantisation-aware training.
Block-compressed latents are measured by the `ndgi-recipe` bench method (BC7 mode 6).

    python -m todlm.bench.codec_families [--steps 3000] [--family NAME ...] [--dataset NAME ...]

appends rows to bench/results/families.json (a row per family and TOD dataset; reruns replace)."""

import argparse
import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from torch import nn

from todlm.format.atomic import atomic_write_bytes
from todlm.format.times import HPRC_RATIO_FRAMES
from todlm.trainer import loop, value_transform
from todlm.trainer.model import GridMLP, bilinear_taps, fake_quant
from todlm.trainer.run_config import from_document

from .machine import machine_info
from .measure import linear_interpolation, scores
from .presets import bench_document

RESULTS = Path(__file__).parent / "results" / "families.json"
BASE = "small-detail"  # the trials ran at small's size before its detail plane went


class TimePlanesMLP(GridMLP):
    """GridMLP plus NDGI-style time planes, added in the value domain: xt and yt planes at
    1/PLANE_DOWNSAMPLE of the texels and a 1/VOLUME_DOWNSAMPLE xyt volume, each with KNOTS time
    cells (hat-interpolated, periodic) and CHANNELS channels; the planes' product and the volume's
    features map linearly to RGB. The texel's position rides along in the coefficients, since the
    planes are sampled per time."""

    CHANNELS, PLANE_DOWNSAMPLE, VOLUME_DOWNSAMPLE, KNOTS = 4, 4, 16, 24

    def __init__(self, config, width, height):
        super().__init__(config, width, height)
        c, n = self.CHANNELS, self.KNOTS
        self.pcols, self.prows = max(2, width // self.PLANE_DOWNSAMPLE), max(2, height // self.PLANE_DOWNSAMPLE)
        self.vcols, self.vrows = max(2, width // self.VOLUME_DOWNSAMPLE), max(2, height // self.VOLUME_DOWNSAMPLE)
        self.xt = nn.Parameter(torch.randn(n, self.pcols, c) * 0.1)
        self.yt = nn.Parameter(torch.randn(n, self.prows, c) * 0.1)
        self.volume = nn.Parameter(torch.zeros(n, self.vrows, self.vcols, c))
        self.mix = nn.Linear(2 * c, 3)
        with torch.no_grad():
            self.mix.weight.mul_(0.1)
            self.mix.bias.zero_()
        self.quantised = False

    def set_fake_quant(self, enabled: bool) -> None:
        super().set_fake_quant(enabled)
        self.quantised = enabled

    def coefficients(self, features, ys, xs):
        coef = super().coefficients(features, ys, xs)
        return torch.cat([coef, torch.stack([ys, xs], 1)[:, None, :].expand(-1, 3, 2)], 2)

    def _tables(self):
        tables = (self.xt, self.yt, self.volume)
        return tuple(fake_quant(t, self.config.grid.bits) for t in tables) if self.quantised else tables

    def term(self, ys, xs, times):
        """[T, N, 3]"""
        u = torch.remainder(times, 24.0) * (self.KNOTS / 24.0)
        k0 = torch.floor(u)
        f = (u - k0)[:, None, None]
        k0 = k0.long() % self.KNOTS
        k1 = (k0 + 1) % self.KNOTS
        xt, yt, volume = self._tables()

        def line(table, pos, texels, cells, k):
            i0, fi = bilinear_taps(pos, texels, cells)
            fi = fi[None, :, None]
            return table[k][:, i0] * (1 - fi) + table[k][:, i0 + 1] * fi

        def cells(k):
            y0, fy = bilinear_taps(ys, self.height, self.vrows)
            x0, fx = bilinear_taps(xs, self.width, self.vcols)
            fy, fx, v = fy[None, :, None], fx[None, :, None], volume[k]
            top = v[:, y0, x0] * (1 - fx) + v[:, y0, x0 + 1] * fx
            return top * (1 - fy) + (v[:, y0 + 1, x0] * (1 - fx) + v[:, y0 + 1, x0 + 1] * fx) * fy

        px = line(xt, xs, self.width, self.pcols, k0) * (1 - f) + line(xt, xs, self.width, self.pcols, k1) * f
        py = line(yt, ys, self.height, self.prows, k0) * (1 - f) + line(yt, ys, self.height, self.prows, k1) * f
        return self.mix(torch.cat([px * py, cells(k0) * (1 - f) + cells(k1) * f], -1))

    def at_times(self, packed, times):
        k = self.config.basis.k
        base = torch.einsum("nck,tk->tnc", packed[..., :k], self.basis_weights(times))
        return base + self.term(packed[:, 0, k], packed[:, 0, k + 1], times)

    def head(self, features, ys, xs, ts):
        """Whole frames only (one time for every texel): what scoring asks of it."""
        if not bool(torch.all(ts == ts[0])):
            raise ValueError("time-planes trials evaluate one time at a time")
        return self.at_times(self.coefficients(features, ys, xs), ts[:1])[0]


FAMILIES = {
    "gridmlp": (GridMLP, {}),
    "sun-window": (GridMLP, {"model.sun.k": 4}),
    "time-planes": (TimePlanesMLP, {"model.grid.resolutions": [16, 32, 64]}),  # planes in the finest level's bytes
    "lowbit-grids": (GridMLP, {"model.grid.channels": 6, "model.grid.bits": 4, "train.qat_fraction": 0.4}),
}


def family_document(name: str, steps: int) -> dict:
    """The base preset's run document with the family's overrides, `steps` main steps and no
    quantised fine-tune (every family is scored through fake quantisation instead)."""
    doc = bench_document(BASE)
    for path, value in FAMILIES[name][1].items():
        part, field = path.split(".", 1)
        node = doc[part]
        *parents, leaf = field.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    doc["train"].update({"steps": steps, "quant_finetune": 0})
    return doc


def shipped_bytes(model: GridMLP) -> int:
    """The model's bytes at the widths export stores: cell tables (grids, time planes) at
    grid.bits, the detail plane at its bits, every other parameter float16."""
    config, total = model.config, 0.0
    cell_tables = {id(g.values) for g in model.grids}
    cell_tables |= {id(getattr(model, n)) for n in ("xt", "yt", "volume") if hasattr(model, n)}
    for p in model.parameters():
        if id(p) in cell_tables:
            total += p.numel() * config.grid.bits / 8
        elif model.detail is not None and p is model.detail.values:
            total += p.numel() * config.detail.bits / 8
        else:
            total += p.numel() * 2
    return int(math.ceil(total))


@contextmanager
def trained_as(cls):
    """The trainer's loop building `cls` where it builds a GridMLP."""
    with mock.patch.object(loop, "GridMLP", cls):
        yield


def value_frames(model: GridMLP, times) -> np.ndarray:
    value = model.config.value
    with torch.no_grad():
        return np.stack([value_transform.inverse(model.frame(float(t)), value, value.scale).clamp_min(0).numpy()
                         for t in times])


def day_mean(per_time: dict, lo: float, hi: float) -> float:
    return float(np.mean([p for t, p in per_time.items() if lo <= t <= hi]))


def trial(name: str, dataset, steps: int) -> dict:
    cls = FAMILIES[name][0]
    run = from_document(family_document(name, steps), name)

    def progress(step: int, stats: dict) -> None:
        if step % 500 == 0 or step == steps:
            print(f"{name} {dataset.name} step {step}/{steps} psnr {stats['psnr']:.2f}", flush=True)

    start = time.perf_counter()
    with trained_as(cls):
        model = loop.train_lightmap(dataset.train, run.model, run.train, progress=progress).model
    seconds = time.perf_counter() - start
    model.set_fake_quant(True)
    train = dataset.train
    seen = scores(train, value_frames(model, train.times))
    n_bytes = shipped_bytes(model)
    raw = HPRC_RATIO_FRAMES * train.width * train.height * 12
    row = {"family": name, "dataset": dataset.name, "steps": steps, "bytes": n_bytes, "ratio": n_bytes / raw,
           "bpts": 8 * n_bytes / (train.width * train.height * train.n_times), "psnr": seen["psnr"],
           "ssim": seen["ssim"], "day_psnr": day_mean(seen["per_time"], 6.0, 18.0), "train_s": seconds,
           "config": family_document(name, steps), "cpu": machine_info()["cpu"]}
    if dataset.unseen is not None:
        unseen = dataset.unseen
        got = scores(unseen, value_frames(model, unseen.times))
        interp = scores(unseen, np.stack([linear_interpolation(train, float(t)) for t in unseen.times]))
        row.update({"unseen_psnr": got["psnr"], "unseen_day_psnr": day_mean(got["per_time"], 6.01, 17.99),
                    "interp_day_psnr": day_mean(interp["per_time"], 6.01, 17.99)})
    return row


def save(rows: list[dict]) -> None:
    old = json.loads(RESULTS.read_text())["rows"] if RESULTS.exists() else []
    keys = {(r["family"], r["dataset"], r["steps"]) for r in rows}
    kept = [r for r in old if (r["family"], r["dataset"], r["steps"]) not in keys]
    atomic_write_bytes(RESULTS, (json.dumps({"base": BASE, "machine": machine_info(), "rows": kept + rows},
                                            indent=1) + "\n").encode())


def main() -> None:
    from .suite import datasets

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--family", action="append", choices=list(FAMILIES))
    parser.add_argument("--dataset", action="append", help="a TOD dataset of the full suite (default: all)")
    args = parser.parse_args()
    tod = [d for d in datasets("full", []) if d.kind == "tod" and (not args.dataset or d.name in args.dataset)]
    for d in tod:
        for name in args.family or list(FAMILIES):
            row = trial(name, d, args.steps)
            print(json.dumps({k: v for k, v in row.items() if k != "config"}), flush=True)
            save([row])


if __name__ == "__main__":
    main()
