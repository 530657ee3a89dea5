"""`todlm demo`: everything the pipeline can do today, on the bundled sample.

Today that is an identity round trip: the sample is written in the HPRC layout, read back
through the HPRC reader and evaluated with the judge's metrics, and a contact sheet is
drawn. The trainer and decoder issues replace the identity with train -> pack -> decode.
"""

import json
import math
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from todlm.format import HPRCDataset, load_sample, write_hprc
from todlm.format.atomic import atomic_write_bytes
from todlm.metrics import HPRCEvaluator, LpipsUnavailable, bpts, evaluate_lightmap, hprc_ratio, load_lpips

from .contact_sheet import contact_sheet


def fmt(value, digits=3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def run_demo(out: Path, with_flip: bool = True, console: Console | None = None) -> dict:
    console = console or Console()
    sample = load_sample()
    try:
        lpips = load_lpips()
        lpips_note = "LPIPS: AlexNet v0.1"
    except LpipsUnavailable as exc:
        lpips, lpips_note = None, f"LPIPS unavailable: {exc}"
    results = {"method": "identity (raw float32 HPRC round trip)", "lpips_note": lpips_note, "splits": {}}
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console, transient=True) as progress:
        for split, gt in (("train", sample.train), ("unseen", sample.unseen)):
            root = write_hprc(Path(tmp) / split, [gt])
            decoded = next(iter(HPRCDataset(root)))
            stored = sum(p.stat().st_size for p in (root / "Data").glob("lightmapRawData_*"))
            task = progress.add_task(f"evaluating {split}", total=gt.n_times)
            report = evaluate_lightmap(gt, decoded.frames, HPRCEvaluator(lpips), with_flip=with_flip,
                                       progress=lambda: progress.advance(task))
            report["bpts"] = bpts(stored, gt.width, gt.height, gt.n_times)
            report["ratio"] = hprc_ratio(stored, [(gt.height, gt.width)])
            report["frames"] = gt.n_times
            results["splits"][split] = report
            contact_sheet(out / f"contact_sheet_{split}.png", gt, decoded.frames,
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
    console.print("train -> pack -> decode replaces the identity once the trainer and decoder land.")
    console.print(f"wrote {out / 'metrics.json'}, {out / 'contact_sheet_train.png'}, "
                  f"{out / 'contact_sheet_unseen.png'}")
    return results
