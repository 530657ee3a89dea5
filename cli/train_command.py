"""`todlm train`: rich progress per lightmap, a summary table at the end."""

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


def run_train(data: Path, out: Path, p, label: str, only: tuple[str, int] | None, device: str,
              keep_work: bool = False) -> list[dict]:
    """Train `p` (a run_config.Preset) on every lightmap of `data`; `label` names it in the table."""
    from todlm.trainer.dataset_train import Progress as Hooks, pooled, train_dataset

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

        rows = train_dataset(data, out, p, only=only, device=device, progress=Hooks(start, step, phase, end),
                             keep_work=keep_work)
    table = Table(title=f"{out} ({label})")
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
