"""`todlm train`: rich progress per lightmap, a summary table at the end."""

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


def run_train(data: Path, out: Path, preset_name: str, only: tuple[str, int] | None, device: str,
              steps: int | None, seed: int | None, basis: int | None = None, qat: float | None = None,
              hash_top_levels: int | None = None, hash_capacity: int | None = None,
              latent: int | None = None, grid_bits: int | None = None,
              hash_warmup: float | None = None, value: str | None = None,
              balance_frames: str | None = None, grid_channels: int | None = None,
              tile_psnr: float | None = None, temporal_loss: str | None = None,
              quant_finetune: int | None = None, detail: str | None = None,
              ssim_loss: float | None = None, knot_residual: str | None = None,
              knot_residual_flip: float | None = None, mlp_weights: str | None = None,
              mask_unlit: bool | None = None) -> list[dict]:
    from todlm.trainer.dataset_train import Progress as Hooks, pooled, train_dataset
    from todlm.trainer.train_config import SEED_TEMPORAL_L1, preset, with_overrides

    temporal = {"off": {"temporal": False}, "l1": {"temporal": True, **SEED_TEMPORAL_L1},
                "l2": {"temporal": True}, None: {}}[temporal_loss]
    p = with_overrides(preset(preset_name), basis=basis, hash_top_levels=hash_top_levels,
                       hash_capacity=hash_capacity, latent=latent, grid_bits=grid_bits,
                       grid_channels=grid_channels, value=value, hash_warmup=hash_warmup,
                       balance_frames=balance_frames, tile_psnr=tile_psnr, steps=steps, seed=seed, qat_fraction=qat,
                       quant_finetune=quant_finetune, detail=detail, ssim_weight=ssim_loss,
                       knot_residual=knot_residual, knot_residual_flip=knot_residual_flip,
                       mlp_weights=mlp_weights, mask_unlit=mask_unlit, **temporal)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=console) as bar:
        task = {"id": None}

        def start(name: str, total: int):
            task["id"] = bar.add_task(name, total=total, stats="")

        def step(n: int, stats: dict):
            if n % 10 == 0 or n == total_steps(task):
                bar.update(task["id"], completed=n,
                           stats=f"loss {stats['loss']:.2e}  psnr~{stats['psnr']:.1f} dB")

        def phase(text: str):
            bar.update(task["id"], stats=text)

        def total_steps(t):
            return bar.tasks[t["id"]].total

        def end(row: dict):
            if task["id"] is not None:
                bar.update(task["id"], completed=bar.tasks[task["id"]].total,
                           stats=f"{row['psnr']:.2f} dB, ratio {row['ratio']:.4f}")
                task["id"] = None

        rows = train_dataset(data, out, p, only=only, device=device, progress=Hooks(start, step, phase, end))
    table = Table(title=f"{out} (preset {preset_name})")
    for col in ("lightmap", "size", "ratio", "bpts", "PSNR", "SSIM", "train s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['level']}/{r['id']}", f"{r['width']}x{r['height']}", f"{r['ratio']:.4f}",
                      f"{r['bpts']:.3f}", f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", f"{r['train_s']:.0f}")
    total = pooled(rows)
    table.add_row("all", f"{total['lightmaps']} maps", f"{total['ratio']:.4f}", "", f"{total['psnr']:.2f}",
                  f"{total['ssim']:.4f}", f"{total['train_s']:.0f}")
    Console().print(table)
    return rows
