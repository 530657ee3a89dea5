"""Named model + training setups the benchmark runs: the trainer's presets, their ablations,
and the best published HPRC entry's recipe expressed as a todlm model."""

from dataclasses import dataclass, replace

from todlm.format.model_config import (BasisConfig, DetailConfig, GridConfig, KnotResidualConfig, LatentConfig,
                                      MLPConfig, ModelConfig, ResidualConfig, parse_value_domain)
from todlm.trainer.train_config import SEED_TEMPORAL_L1, Preset, TrainConfig, basis_model, preset

QUICK_PRESETS = ("fast", "fast-no-ssim", "fast-previous", "fast-grid-mlp", "fast-residual", "fast-no-temporal", "fast-temporal-l1",
                 "fast-qat", "fast-grid4", "fast-grid4-qat", "fast-hash", "fast-latent", "fast-unbalanced", "leader-fast")
PRESET_RATE_POINTS = ("fast", "default", "max")  # the trainer's presets: the suite runs them before any ablation
FULL_PRESETS = ("fast", "default", "max", "default-grid-mlp", "default-residual", "default-no-temporal",
                "default-temporal-l1", "default-no-finetune", "default-grid16", "default-qat", "default-grid4",
                "default-grid4-qat",
                "default-hash", "default-hash-warmup", "default-latent", "default-unbalanced",
                "default-gamma4", "default-mulaw", "default-fullres", "default-fullres-gamma4", "default-tile-psnr",
                "default-tile-psnr-half", "default-grid6c8", "default-mlp64", "default-mlplr2x", "default-mlp64-mlplr2x",
                "default-no-detail", "default-previous", "default-median-balance",
                "default-median-tile-psnr-quarter", "fast-no-ssim", "default-no-ssim", "default-8000-steps",
                "default-2bit-detail", "default-tile-0.5-ssim-0.03", "default-knot-residual-8",
                "default-knot-residual-4", "default-no-knot-residual", "max-no-ssim", "default-mlp8", "fast-mlp8",
                "default-half", "default-at-0.005", "default-at-0.005-psnr",
                "default-at-0.005-no-detail", "default-mask-unlit", "default-at-0.005-mask-unlit", "leader")


EARLIER_DEFAULT_WEIGHTS = {"tile_psnr": 0.5, "ssim_weight": 0.03}  # default's loss weights before 2026-11-28 (3rd)
MASK_UNLIT_NOTE = "texels 0 at every time out of the loss and the stored mask (--mask-unlit)"
PSNR_ONLY_WEIGHTS = {"tile_psnr": 1.0, "ssim_weight": 0.0}  # loss weights for the judge's mean of per-tile dB alone


@dataclass
class BenchPreset(Preset):
    note: str = ""


def _leader_model() -> ModelConfig:
    """Half-resolution 4-channel 16-bit feature map (the entry stores fp16), 16-wide MLP, x^gamma
    target, no baseline. Its per-time expert heads become per-time output heads here: a 24-term
    time basis over hourly hat knots, shared hidden layers."""
    return ModelConfig(grid=GridConfig([128], channels=4, bits=16), mlp=MLPConfig(hidden=16, layers=2),
                       residual=ResidualConfig(enabled=False), basis=BasisConfig(k=24))


def bench_preset(name: str) -> BenchPreset:
    if name in ("leader", "leader-fast"):
        train = replace(preset("fast" if name == "leader-fast" else "default").train, lr_mlp=TrainConfig.lr_mlp,
                        ssim_weight=0.0)
        return BenchPreset(_leader_model(), train,
                           "HPRC leader's recipe (approximation: per-time output heads, shared hidden layers)")
    base_name, _, variant = name.partition("-")
    p = preset(base_name)
    model, train = p.model, p.train
    if variant and not variant.startswith("knot-residual-"):  # ablations of the compact model, as measured
        model = replace(model, knot_residual=KnotResidualConfig())
    if variant == "grid-mlp":
        model, train = ModelConfig(), TrainConfig(steps=train.steps, batch=8192, lr_mlp=0.02)
        note = "the previous default: time features into a 32-wide MLP, 7 channels, gamma 2.2"
    elif variant == "residual":
        model = replace(model, residual=ResidualConfig(enabled=True))
        note = "ablation: a baseline image (1/4 resolution, 8-bit) beside the detail plane"
    elif variant == "no-temporal":
        train, note = replace(train, temporal=False), "ablation: no temporal loss"
    elif variant == "temporal-l1":
        train = replace(train, **SEED_TEMPORAL_L1)
        note = "the seed's temporal loss: L1 of the frame-difference error, weight 0.05 -> 0.2"
    elif variant == "no-finetune":
        train, note = replace(train, quant_finetune=0), "ablation: plain PTQ, no quantised fine-tune"
    elif variant == "qat":
        train, note = replace(train, qat_fraction=0.2), "quantisation-aware training, last 20% of steps"
    elif variant in ("hash", "hash-warmup"):
        model = replace(model, grid=replace(model.grid, hash_top_levels=1, hash_capacity=8192))
        note = "finest grid level hashed into 8192 entries"
        if variant == "hash-warmup":
            train, note = replace(train, hash_warmup=0.1), note + ", first 10% of steps train it alone"
    elif variant == "latent":
        model = replace(model, latent=LatentConfig(channels=2 * model.grid.channels))
        note = f"BaselineEncoder: {2 * model.grid.channels}-channel latent texture at 1/8 resolution"
    elif variant.startswith("unbalanced-"):
        p = bench_preset(f"{base_name}-{variant.removeprefix('unbalanced-')}")
        model, train, note = p.model, replace(p.train, balance_frames="none"), p.note + "; frames unbalanced"
    elif variant in ("gamma4", "mulaw"):
        model = replace(model, value=parse_value_domain("gamma:4" if variant == "gamma4" else "mulaw:2000"))
        note = ("value domain x^(1/4)" if variant == "gamma4" else "value domain mu-law, mu 2000") + " (not x^(1/2))"
    elif variant in ("fullres", "fullres-gamma4"):
        model = replace(model, grid=replace(model.grid, resolutions=[*model.grid.resolutions, 256]))
        note = "a full-resolution grid level (256 cells per 256 texels) on top"
        if variant == "fullres-gamma4":
            model, note = replace(model, value=parse_value_domain("gamma:4")), note + ", value domain x^(1/4)"
    elif variant in ("tile-psnr", "tile-psnr-half"):
        a = 1.0 if variant == "tile-psnr" else 0.5
        train, note = replace(train, tile_psnr=a), f"linear loss of each (time, tile) weighted by 1 / its MSE^{a:g}"
    elif variant in ("mlp64", "mlplr2x", "mlp64-mlplr2x"):
        parts = []
        if variant.startswith("mlp64"):
            model = replace(model, mlp=replace(model.mlp, hidden=64))
            parts.append(f"a 64-wide MLP (the presets' is {p.model.mlp.hidden})")
        if variant.endswith("mlplr2x"):
            train = replace(train, lr_mlp=train.lr_mlp * 2)
            parts.append(f"MLP learning rate {train.lr_mlp:g} (twice the presets')")
        note = ", ".join(parts) + (": the presets until 2026-11-27" if variant == "mlp64-mlplr2x" else "")
    elif variant == "mlp8":
        model = replace(model, mlp=replace(model.mlp, weights="uint8"))
        note = "8-bit MLP weights (a scale per output row), fake-quantised in the quantised fine-tune"
    elif variant == "half":
        model = replace(model, grid=replace(model.grid, channels=3), mlp=replace(model.mlp, hidden=64),
                        detail=DetailConfig(channels=1, bits=2))
        note = ("near half default's bytes (the model issue's ratio 0.005): 3 grid channels, a 64-wide MLP, "
                "a 2-bit detail plane")
    elif variant in ("at-0.005", "at-0.005-psnr"):
        model = replace(model, grid=replace(model.grid, channels=3, resolutions=[16, 32, 64, 104]),
                        mlp=replace(model.mlp, hidden=56), detail=DetailConfig(channels=1, bits=2))
        note = ("within the model issue's ratio 0.005 on the sample: 3 grid channels, the finest level 104 (not 128), "
                "a 56-wide MLP, a 2-bit detail plane")
        if variant == "at-0.005-psnr":
            train = replace(train, **PSNR_ONLY_WEIGHTS)
            note += "; loss weights for the judge's PSNR alone: tile-PSNR weighting 1, no SSIM loss"
    elif variant == "at-0.005-no-detail":
        model = replace(model, grid=replace(model.grid, channels=3), mlp=replace(model.mlp, hidden=56),
                        detail=DetailConfig(channels=0))
        train = replace(train, **PSNR_ONLY_WEIGHTS)
        note = ("within the model issue's ratio 0.005 on the sample, its bytes in the grids: 3 grid channels up to "
                "level 128, a 56-wide MLP, no detail plane; tile-PSNR weighting 1, no SSIM loss")
    elif variant == "at-0.005-mask-unlit":
        p = bench_preset("default-at-0.005-no-detail")
        model, train, note = p.model, replace(p.train, mask_unlit=True), p.note + "; " + MASK_UNLIT_NOTE
    elif variant == "mask-unlit":
        train, note = replace(train, mask_unlit=True), MASK_UNLIT_NOTE
    elif variant == "no-detail":
        model, note = replace(model, detail=DetailConfig(channels=0)), "ablation: no detail plane"
    elif variant == "previous":
        model = replace(model, detail=DetailConfig(channels=0), residual=ResidualConfig(enabled=True),
                        mlp=replace(model.mlp, hidden=88))
        train = replace(train, ssim_weight=0.0)
        note = "the presets until the detail plane: baseline image, 88-wide MLP, no detail plane"
    elif variant == "grid6c8":
        model = replace(model, grid=replace(model.grid, bits=6, channels=8))
        note = "8 channels of packed 6-bit grids (the raw bytes of 6 channels at 8 bits)"
    elif variant == "unbalanced":
        train, note = replace(train, balance_frames="none"), "ablation: every time's value-domain loss weighted alike"
    elif variant in ("median-balance", "median-tile-psnr-quarter"):
        train = replace(train, balance_frames="median")
        note = "frames balanced by their median squared (not their mean square)"
        if variant == "median-tile-psnr-quarter":
            train = replace(train, tile_psnr=0.25, ssim_weight=0.01)
            note += "; tile-PSNR weighting A = 0.25; SSIM loss weight 0.01 (better than 0.03 here)"
    elif variant == "no-ssim":
        train, note = replace(train, ssim_weight=0.0), "ablation: no SSIM patch loss"
    elif variant == "tile-0.5-ssim-0.03":
        train = replace(train, **EARLIER_DEFAULT_WEIGHTS)
        note = "the default until 2026-11-28's third change: tile-PSNR weighting A = 0.5, SSIM loss weight 0.03"
    elif variant == "2bit-detail":
        model, train = basis_model(), replace(train, **EARLIER_DEFAULT_WEIGHTS)
        note = ("the default until 2026-11-28's second change: 6 grid channels and a 2-bit detail plane, "
                "tile-PSNR weighting A = 0.5, SSIM loss weight 0.03")
    elif variant == "8000-steps":
        model = basis_model()
        train = replace(train, steps=8000, quant_finetune=1000, tile_psnr=0.0,
                        ssim_weight=EARLIER_DEFAULT_WEIGHTS["ssim_weight"])
        note = ("the default until 2026-11-28: 8000 + 1000 steps, no tile-PSNR weighting, SSIM loss weight 0.03, "
                "6 grid channels and a 2-bit detail plane")
    elif variant.startswith("knot-residual-"):
        d = int(variant.rsplit("-", 1)[1])
        model = replace(model, knot_residual=KnotResidualConfig(downsample=d))
        train = replace(train, knot_residual_flip=0.0)
        note = (f"a knot residual: per time knot and lamp state an 8-bit image at 1/{d} resolution, "
                "fitted after training whatever the FLIP")
    elif variant == "no-knot-residual":
        note = "the compact model alone, never a knot residual (the default until 2026-12-06)"
    elif variant == "grid16":
        model, note = replace(model, grid=replace(model.grid, bits=16)), "ablation: 16-bit grids (PTQ)"
    elif variant in ("grid4", "grid4-qat"):
        model, note = replace(model, grid=replace(model.grid, bits=4)), "4-bit grids, two values per byte"
        if variant == "grid4-qat":
            train, note = replace(train, qat_fraction=0.2), note + ", QAT (last 20% of steps)"
        else:
            note += " (PTQ)"
    elif variant == "":
        note = f"todlm preset {base_name}"
    else:
        raise ValueError(f"unknown benchmark preset {name!r}")
    return BenchPreset(model, train, note)
