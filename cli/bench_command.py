"""`todlm bench`: runs a benchmark suite with a progress display, then optionally plots it."""

import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True)


def run_bench(suite: str, out: Path, plot: Path | None, data: list[Path], only: list[str] = (),
              presets: list[str] = (), redo: bool = False, methods: list[str] = (), keep: Path | None = None) -> None:
    try:
        import torch  # noqa: F401  (todlm rows train models)
    except ImportError:
        raise ValueError("todlm bench trains models: install the [train] extra (torch)") from None
    from todlm.bench.rd_plot import plot_rd
    from todlm.bench.suite import run_suite

    for path in data:
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
    live = err.is_terminal  # elsewhere (logs, pipes) a plain line per job
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, disable=not live) as bar:
        task = bar.add_task("bench", total=None)

        def progress(i: int, total: int, job) -> None:
            what = f"{job.method} {job.preset} on {job.dataset}" if job is not None else "done"
            bar.update(task, completed=i, total=total, description=what)
            if not live:
                print(f"todlm bench: {i}/{total} {what}", file=sys.stderr, flush=True)

        try:
            results = run_suite(suite, out, data, progress, only, presets, redo, methods, keep)
        except KeyboardInterrupt:
            err.print(f"interrupted; rerun the same command to resume ({out} keeps the finished rows)")
            raise
    err.print(f"wrote {out} ({len(results['rows'])} rows)")
    if plot is not None:
        plot_rd(results, plot)
        err.print(f"wrote {plot}")
