"""The HPRC weighted score: each metric clipped to [worst, best], mapped to 0-100, weighted."""

SCORE_RANGES = {  # metric: (best, worst, weight), as published; the organisers may tune them
    "psnr": (55.0, 20.0, 0.05),
    "ssim": (0.999, 0.73, 0.05),
    "lpips": (0.0003, 0.3, 0.05),
    "ratio": (0.0, 0.5, 0.20),
    "time_s": (0.0, 300.0, 0.15),
}


def subscore(name: str, value: float) -> float:
    best, worst, _ = SCORE_RANGES[name]
    return 100.0 * min(max((value - worst) / (best - worst), 0.0), 1.0)


def hprc_score(psnr: float, ssim: float, lpips: float | None, ratio: float, time_s: float) -> dict:
    """score is None when LPIPS is unavailable; score_without_lpips (out of 45) is then the honest part."""
    values = {"psnr": psnr, "ssim": ssim, "lpips": lpips, "ratio": ratio, "time_s": time_s}
    subs = {k: (None if v is None else subscore(k, v)) for k, v in values.items()}
    partial = sum(SCORE_RANGES[k][2] * s for k, s in subs.items() if k != "lpips")
    full = None if subs["lpips"] is None else partial + SCORE_RANGES["lpips"][2] * subs["lpips"]
    return {"subscores": subs, "score": full, "score_without_lpips": partial}
