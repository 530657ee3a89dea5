"""`todlm decode` and `todlm eval`: both run the torch-free decoder on the stored artifact."""

import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from todlm.decoder.api import Decoder
from todlm.format.atomic import atomic_write_bytes
from todlm.format.container import Container
from todlm.format.exr import write_exr
from todlm.format.lightmap_set import LightmapSet
from todlm.format.sequence import write_sequence
from todlm.format.sources import iter_lightmaps
from todlm.format.times import HPRC_TIMES
from todlm.format.unpacked import hprc_bytes
from todlm.metrics.hprc import HPRCEvaluator
from todlm.metrics.lpips_metric import LpipsUnavailable, load_lpips
from todlm.metrics.rate import hprc_ratio
from todlm.metrics.score import hprc_score


def run_decode(container: Path, out: Path, time_h: float | None, all_times: bool, device: str,
               key: tuple[str, int] | None) -> None:
    decoder = Decoder.open(container, device=device, lightmap=key)
    if all_times:
        times = np.array(decoder.times or HPRC_TIMES, np.float64)
        frames = decoder.decode_frames(times)
        mask = decoder.weights.mask if decoder.weights.mask is not None else np.ones(frames.shape[1:3], bool)
        level, lid = key if key else (None, None)
        lm = LightmapSet(frames, times, np.broadcast_to(mask, frames.shape[:3]), name=decoder.name,
                         level=level or "level", id=lid or 0, source=str(container))
        write_sequence(out, lm, fmt="exr")
    else:
        write_exr(out, decoder.decode_frame_host(time_h))


def run_eval(container: Path, data: Path, device: str, json_out: Path | None) -> dict:
    try:
        lpips = load_lpips()
        lpips_note = None
    except LpipsUnavailable as exc:
        lpips, lpips_note = None, str(exc)
    pooled = HPRCEvaluator(lpips)
    rows, sizes, decode_s, frames = [], [], 0.0, 0
    with Container.open(container) as c:
        stored = {(lm.level, lm.id): lm.raw_bytes for lm in c.lightmaps}
    for gt in iter_lightmaps(data):
        if gt.key not in stored:
            raise ValueError(f"{container}: no model for lightmap {gt.level}/{gt.id} of {data}")
        decoder = Decoder.open(container, device=device, lightmap=gt.key)
        decoder.decode_frame(0.0)  # JIT warm-up, untimed as in the judge's get()
        own = HPRCEvaluator(lpips)
        for i, t in enumerate(gt.times):
            start = time.perf_counter()
            frame = decoder.decode_frame_host(float(t))
            decode_s += time.perf_counter() - start
            frames += 1
            own.add_frame(gt.frames[i], frame, gt.masks[i])
            pooled.add_frame(gt.frames[i], frame, gt.masks[i])
        sizes.append((gt.height, gt.width))
        rows.append({"lightmap": f"{gt.level}/{gt.id}", **own.summary(),
                     "ratio": hprc_ratio(stored[gt.key], [(gt.height, gt.width)])})
    if not rows:
        raise ValueError(f"{data}: no lightmaps")
    total = pooled.summary()
    ratio = hprc_ratio(hprc_bytes(container), sizes)  # every byte of the raw repack under Parameters/
    score = hprc_score(total["psnr"], total["ssim"], total["lpips"], ratio, decode_s)
    report = {"container": str(container), "data": str(data), "device": device, "lightmaps": rows,
              "psnr": total["psnr"], "ssim": total["ssim"], "lpips": total["lpips"], "lpips_note": lpips_note,
              "ratio": ratio, "decode_s": decode_s, "decode_ms_per_frame": 1000 * decode_s / frames, **score}
    table = Table(title=f"{container.name} on {data} (HPRC protocol)")
    for col in ("lightmap", "tiles", "PSNR", "SSIM", "LPIPS", "ratio"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["lightmap"], str(r["tiles"]), f"{r['psnr']:.2f}", f"{r['ssim']:.4f}",
                      "n/a" if r["lpips"] is None else f"{r['lpips']:.4f}", f"{r['ratio']:.4f}")
    console = Console()
    console.print(table)
    console.print(f"PSNR {total['psnr']:.3f} dB  SSIM {total['ssim']:.4f}  LPIPS "
                  f"{'n/a (' + lpips_note + ')' if lpips is None else format(total['lpips'], '.4f')}  "
                  f"ratio {ratio:.5f}  decode {decode_s:.2f} s ({report['decode_ms_per_frame']:.1f} ms/frame, "
                  f"{device})")
    console.print(f"score {'n/a (needs LPIPS)' if score['score'] is None else format(score['score'], '.2f')}"
                  f"  without LPIPS {score['score_without_lpips']:.2f} / 45")
    if json_out is not None:
        atomic_write_bytes(json_out, json.dumps(report, indent=1).encode())
    return report
