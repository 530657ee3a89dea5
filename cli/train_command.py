"""`todlm train`: progress per lightmap (a live bar on a terminal, plain lines elsewhere), a
summary table at the end."""

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


def bar_hooks(bar: Progress):
    """A live bar per lightmap, on a terminal."""
    from todlm.trainer.dataset_train import Progress as Hooks

    task = {"id": None}

    def start(name: str, total: int):
        task["id"] = bar.add_task(name, total=total, stats="")

    def step(n: int, stats: dict):
        if n % 10 == 0 or n == bar.tasks[task["id"]].total:
            bar.update(task["id"], completed=n, stats=f"loss {stats['loss']:.2e}  psnr~{stats['psnr']:.1f} dB")

    def phase(text: str):
        bar.update(task["id"], stats=text)

    def end(row: dict):
        if task["id"] is not None:
            bar.update(task["id"], completed=bar.tasks[task["id"]].total,
                       stats=f"{row['psnr']:.2f} dB, ratio {row['ratio']:.4f}")
            task["id"] = None

    return Hooks(start, step, phase, end)


def line_hooks(every: float = 0.1):
    """Plain lines on stderr where it is not a terminal (CI logs, build farms, workers): one as a
    lightmap starts, one every `every` of its steps, one per export phase and one when it ends."""
    from todlm.trainer.dataset_train import Progress as Hooks

    state = {"name": "", "total": 1, "next": 0, "start": 0.0}

    def say(text: str):
        print(f"todlm train: {text}", file=sys.stderr, flush=True)

    def start(name: str, total: int):
        state.update(name=name, total=max(total, 1), next=max(1, round(every * total)), start=time.monotonic())
        say(f"{name}: training, {total} steps")

    def step(n: int, stats: dict):
        if n >= state["next"] or n == state["total"]:
            state["next"] = n + max(1, round(every * state["total"]))
            say(f"{state['name']}: step {n}/{state['total']} ({100 * n / state['total']:.0f}%), "
                f"loss {stats['loss']:.2e}, psnr~{stats['psnr']:.1f} dB, {time.monotonic() - state['start']:.0f} s")

    def phase(text: str):
        say(f"{state['name']}: {text}")

    def end(row: dict):
        say(f"{row['level']}/{row['id']}: done, {row['psnr']:.2f} dB, ratio {row['ratio']:.4f}")

    return Hooks(start, step, phase, end)


def run_train(data: Path, out: Path, p, label: str, only: tuple[str, int] | None, device: str,
              keep_work: bool = False, workers: int | None = None, ray_address: str | None = None) -> list[dict]:
    """Train `p` (a run_config.Preset) on every lightmap of `data`; `label` names it in the table."""
    from todlm.decoder.hprc_export import container_rate
    from todlm.trainer.dataset_train import pooled, train_dataset

    console = Console(stderr=True)
    if console.is_terminal:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=console) as bar:
            rows = train_dataset(data, out, p, only=only, device=device, progress=bar_hooks(bar), keep_work=keep_work,
                                 workers=workers, ray_address=ray_address)
    else:
        rows = train_dataset(data, out, p, only=only, device=device, progress=line_hooks(), keep_work=keep_work,
                             workers=workers, ray_address=ray_address)
    table = Table(title=f"{out} ({label})")
    for col in ("lightmap", "size", "ratio", "bpts", "PSNR", "SSIM", "train s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['level']}/{r['id']}", f"{r['width']}x{r['height']}", f"{r['ratio']:.4f}",
                      f"{r['bpts']:.3f}", f"{r['psnr']:.2f}", f"{r['ssim']:.4f}", f"{r['train_s']:.0f}")
    total, rate = pooled(rows), container_rate(out)
    table.add_row(out.name, f"{total['lightmaps']} maps", f"{rate['ratio']:.4f}", f"{rate['bpts']:.3f}",
                  f"{total['psnr']:.2f}", f"{total['ssim']:.4f}", f"{total['train_s']:.0f}")
    Console().print(table)
    return rows
