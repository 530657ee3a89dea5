"""Quality figures every benchmark reports, computed one way: HPRC PSNR/SSIM (per-time PSNRs
capped for means, since identical frames give +inf), HDR-FLIP, flicker, and linear
interpolation between baked frames (the reference for unseen times)."""

import numpy as np

from todlm.format.lightmap_set import LightmapSet
from todlm.format.times import lamps_on
from todlm.metrics.flicker import flicker
from todlm.metrics.hprc import HPRCEvaluator

PSNR_CAP = 60.0  # identical frames give +inf; means of per-time PSNR cap each at this


def scores(gt: LightmapSet, frames: np.ndarray) -> dict:
    ev = HPRCEvaluator()
    per_time = [ev.add_frame(gt.frames[i], frames[i], gt.masks[i])["psnr"] for i in range(gt.n_times)]
    s = ev.summary()
    return {"psnr": s["psnr"], "psnr_capped": float(np.mean(np.minimum(per_time, PSNR_CAP))), "ssim": s["ssim"],
            "per_time": dict(zip([float(t) for t in gt.times], per_time))}


def capped_mean(per_time: dict, keep) -> float | None:
    """Mean per-time PSNR, each capped, over the times where keep(t); None where there are none."""
    kept = [p for t, p in per_time.items() if keep(t)]
    return float(np.mean(np.minimum(kept, PSNR_CAP))) if kept else None


def is_day(t: float) -> bool:
    """The day times 6 < t < 18, where the sun's shadows move."""
    return 6 < t < 18


def day_psnr(per_time: dict) -> float | None:
    """capped_mean over the day times."""
    return capped_mean(per_time, is_day)


def sequence_flicker(gt: LightmapSet, frames: np.ndarray) -> float | None:
    return flicker(gt.frames, frames, gt.masks, gt.times) if gt.n_times > 1 else None


def interpolation_weights(times: np.ndarray, t: float) -> tuple[int, int, float]:
    """The two nearest baked times with t's lamp state around t, and the weight of the later:
    frame(t) ~ (1 - a) frame[below] + a frame[above]."""
    same = [i for i, x in enumerate(times) if lamps_on(x) == lamps_on(t)]
    below = [i for i in same if times[i] <= t]
    above = [i for i in same if times[i] >= t]
    below = max(below, key=lambda i: times[i]) if below else max(same, key=lambda i: times[i])
    above = min(above, key=lambda i: times[i]) if above else min(same, key=lambda i: times[i])
    span = times[above] - times[below]
    a = 0.0 if span <= 0 else (t - times[below]) / span
    return below, above, float(a)


def linear_interpolation(train: LightmapSet, t: float) -> np.ndarray:
    below, above, a = interpolation_weights(train.times, t)
    return (1 - a) * train.frames[below] + a * train.frames[above]
