"""`todlm decode` and `todlm eval`: both run the torch-free decoder on the stored artifact."""

import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from todlm.decoder.api import Decoder
from todlm.decoder.kernel_model import kernel_mask
from todlm.format.atomic import atomic_write_bytes
from todlm.format.container import Container
from todlm.format.exr import write_exr
from todlm.format.lightmap_set import LightmapSet
from todlm.format.sequence import write_sequence
from todlm.format.sources import iter_lightmaps
from todlm.format.times import HPRC_TIMES
from todlm.metrics.flip import hdr_flip
from todlm.metrics.hprc import HPRCEvaluator
from todlm.metrics.lpips_metric import LpipsUnavailable, load_lpips
from todlm.decoder.hprc_export import container_rate
from todlm.metrics.rate import hprc_ratio
from todlm.metrics.score import hprc_score


FRAME_SUFFIXES = (".exr", ".png")  # EXR: the linear HDR values; PNG: a tonemapped preview for people


def run_decode(container: Path, out: Path, time_h: float | None, all_times: bool, device: str,
               key: tuple[str, int] | None, dilate: int = 0) -> None:
    """dilate > 0 refills up to that many texels around the covered ones from their nearest
    covered neighbours (bakers' gutter), so an engine's bilinear taps at chart edges see no black."""
    if not all_times and out.suffix.lower() not in FRAME_SUFFIXES:
        raise ValueError(f"{out}: write a frame as .exr (linear HDR) or .png (tonemapped preview)")
    decoder = Decoder.open(container, device=device, lightmap=key)
    mask = kernel_mask(decoder.weights).astype(bool)
    refill = gutter(mask, dilate)
    if all_times:
        times = np.array(decoder.times or HPRC_TIMES, np.float64)
        frames = np.stack([refill(f) for f in decoder.decode_frames(times)])
        level, lid = key if key else (None, None)
        lm = LightmapSet(frames, times, np.broadcast_to(mask, frames.shape[:3]), name=decoder.name,
                         level=level or "level", id=lid or 0, source=str(container))
        write_sequence(out, lm, fmt="exr")
        return
    frame = refill(decoder.decode_frame_host(time_h))
    if out.suffix.lower() == ".png":
        from PIL import Image

        from todlm.format.atomic import atomic_path

        from .contact_sheet import exposure_for, tonemap

        with atomic_path(out) as tmp:
            Image.fromarray(tonemap(frame, exposure_for(frame, mask))).save(tmp, format="PNG")
    else:
        write_exr(out, frame)


def gutter(mask: np.ndarray, texels: int):
    """frame -> the frame with its uncovered texels within `texels` of a covered one set to the
    nearest covered texel's value (Euclidean distance), the rest left 0. The nearest texels depend
    on the mask alone, so they are found once for every frame."""
    if texels <= 0 or mask.all() or not mask.any():
        return lambda frame: frame
    from scipy.ndimage import distance_transform_edt

    distance, (iy, ix) = distance_transform_edt(~mask, return_indices=True)
    fill = (~mask) & (distance <= texels)
    sources = iy[fill], ix[fill]

    def refill(frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        out[fill] = frame[sources]
        return out

    return refill


def run_eval(container: Path, data: Path, device: str, json_out: Path | None, with_flip: bool = True) -> dict:
    """The judge's figures over every lightmap of `data`, and per lightmap and time its PSNR,
    SSIM and (with_flip) HDR-FLIP."""
    if json_out is not None:  # an unwritable report folder fails now, not after minutes of scoring
        json_out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=json_out.parent, prefix=f".{json_out.name}.", suffix=".probe"):
            pass
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
        own, per_time = HPRCEvaluator(lpips), []
        for i, t in enumerate(gt.times):
            start = time.perf_counter()
            frame = decoder.decode_frame_host(float(t))
            decode_s += time.perf_counter() - start
            frames += 1
            scores = own.add_frame(gt.frames[i], frame, gt.masks[i])
            pooled.add_frame(gt.frames[i], frame, gt.masks[i])
            per_time.append({"time": float(t), "psnr": scores["psnr"], "ssim": scores["ssim"],
                             "flip": hdr_flip(gt.frames[i], frame, gt.masks[i]) if with_flip else None})
        sizes.append((gt.height, gt.width))
        rows.append({"lightmap": f"{gt.level}/{gt.id}", **own.summary(),
                     "sections_ratio": hprc_ratio(stored[gt.key], [(gt.height, gt.width)]), "per_time": per_time})
    if not rows:
        raise ValueError(f"{data}: no lightmaps")
    total = pooled.summary()
    rate = container_rate(container)
    ratio = rate["ratio"]
    score = hprc_score(total["psnr"], total["ssim"], total["lpips"], ratio, decode_s)
    report = {"container": str(container), "data": str(data), "device": device, "lightmaps": rows,
              "psnr": total["psnr"], "ssim": total["ssim"], "lpips": total["lpips"], "lpips_note": lpips_note,
              "ratio": ratio, "bpts": rate["bpts"], "decode_s": decode_s, "decode_ms_per_frame": 1000 * decode_s / frames, **score}
    table = Table(title=f"{container.name} on {data} (HPRC protocol)")
    for col in ("lightmap", "tiles", "PSNR", "SSIM", "LPIPS", "its sections' ratio"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["lightmap"], str(r["tiles"]), f"{r['psnr']:.2f}", f"{r['ssim']:.4f}",
                      "n/a" if r["lpips"] is None else f"{r['lpips']:.4f}", f"{r['sections_ratio']:.4f}")
    console = Console()
    for r in rows:
        times = Table(title=f"{r['lightmap']} per time", title_justify="left")
        for col in ("time", "PSNR", "SSIM", "HDR-FLIP"):
            times.add_column(col, justify="right")
        for p in r["per_time"]:
            times.add_row(f"{p['time']:g}", f"{p['psnr']:.2f}", f"{p['ssim']:.4f}",
                          "—" if p["flip"] is None else f"{p['flip']:.4f}")
        console.print(times)
    console.print(table)
    console.print(f"PSNR {total['psnr']:.3f} dB  SSIM {total['ssim']:.4f}  LPIPS "
                  f"{'n/a (' + lpips_note + ')' if lpips is None else format(total['lpips'], '.4f')}  "
                  f"ratio {ratio:.5f}  {rate['bpts']:.3f} bpts  decode {decode_s:.2f} s ({report['decode_ms_per_frame']:.1f} ms/frame, "
                  f"{device})")
    console.print(f"score {'n/a (needs LPIPS)' if score['score'] is None else format(score['score'], '.2f')}"
                  f"  without LPIPS {score['score_without_lpips']:.2f} / 45")
    if json_out is not None:
        atomic_write_bytes(json_out, json.dumps(report, indent=1).encode())
    return report
