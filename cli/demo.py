"""`todlm demo`: the whole pipeline on the bundled sample: train the fast preset on the 26
HPRC times, write the .tlm, decode it with the torch-free decoder at the 26 train times and
the 8 unseen ones, score with the judge's metrics and draw contact sheets."""

import json
import math
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from todlm.decoder.api import Decoder
from todlm.format import load_sample
from todlm.format.atomic import atomic_write_bytes
from todlm.format.container_writer import write_container
from todlm.metrics import HPRCEvaluator, LpipsUnavailable, evaluate_lightmap, load_lpips
from todlm.decoder.hprc_export import container_rate

from .contact_sheet import contact_sheet


def fmt(value, digits=3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def run_demo(out: Path, with_flip: bool = True, steps: int | None = None, console: Console | None = None) -> dict:
    console = console or Console()
    sample = load_sample()
    try:
        lpips = load_lpips()
        lpips_note = "LPIPS: AlexNet v0.1"
    except LpipsUnavailable as exc:
        lpips, lpips_note = None, f"LPIPS unavailable: {exc}"
    from todlm.trainer.loop import train_lightmap
    from todlm.trainer.quant_finetune import shipped_record
    from todlm.trainer.run_config import from_document, preset_document, with_steps

    doc = preset_document("fast")
    p = from_document(with_steps(doc, steps) if steps else doc)
    results = {"method": f"todlm fast preset ({p.train.total_steps} steps)", "lpips_note": lpips_note, "splits": {}}
    out.mkdir(parents=True, exist_ok=True)
    artifact = out / "sample.tlm"
    live = console.is_terminal  # elsewhere (logs, pipes) plain lines on stderr say the same
    total = p.train.total_steps

    def say(text: str):
        if not live:
            print(f"todlm demo: {text}", file=sys.stderr, flush=True)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[note]}"), TimeRemainingColumn(), console=console,
                  transient=True, disable=not live) as progress:
        task = progress.add_task("training", total=total, note="")
        say(f"training the fast preset on the bundled sample, {total} steps")

        def on_step(step: int, stats: dict):
            if step % 10 == 0:
                progress.update(task, completed=step, note=f"psnr~{stats['psnr']:.1f} dB")
            if step % max(1, total // 10) == 0 or step == total:
                say(f"step {step}/{total}, psnr~{stats['psnr']:.1f} dB")

        trained = train_lightmap(sample.train, p.model, p.train, progress=on_step)
        write_container(artifact, [shipped_record(trained.model, trained.float_model, sample.train, p.train)])
        results["train_s"] = trained.seconds
        rate = container_rate(artifact)
        decoder = Decoder.open(artifact)
        for split, gt in (("train", sample.train), ("unseen", sample.unseen)):
            decoded = decoder.decode_frames(gt.times)
            say(f"scoring the {gt.n_times} {split} times")
            task = progress.add_task(f"evaluating {split}", total=gt.n_times, note="")
            report = evaluate_lightmap(gt, decoded, HPRCEvaluator(lpips), with_flip=with_flip,
                                       progress=lambda: progress.advance(task))
            report["bpts"], report["ratio"] = rate["bpts"], rate["ratio"]
            report["frames"] = gt.n_times
            results["splits"][split] = report
            contact_sheet(out / f"contact_sheet_{split}.png", gt, decoded,
                          title=f"todlm demo, {split} times: {results['method']}")
    atomic_write_bytes(out / "metrics.json", json.dumps(results, indent=1).encode())
    table = Table(title=f"todlm demo on the bundled sample ({sample.train.width}x{sample.train.height})")
    for col in ("split", "frames", "bpts", "HPRC ratio", "PSNR dB", "SSIM", "LPIPS", "HDR-FLIP", "flicker"):
        table.add_column(col, justify="right")
    for split, r in results["splits"].items():
        table.add_row(split, str(r["frames"]), fmt(r["bpts"], 2), fmt(r["ratio"], 4), fmt(r["psnr"], 2),
                      fmt(r["ssim"], 4), fmt(r["lpips"], 4), fmt(r["flip"], 4), fmt(r["flicker"], 4))
    console.print(table)
    console.print(f"method: {results['method']}; {lpips_note}")
    console.print(f"trained in {results['train_s']:.0f} s; artifact {artifact} ({rate['bytes']} bytes)")
    console.print(f"wrote {out / 'metrics.json'}, {out / 'contact_sheet_train.png'}, "
                  f"{out / 'contact_sheet_unseen.png'}")
    return results
