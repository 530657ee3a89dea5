"""Two readings of a suite's rows (bench/RESULTS.md shows them), computed here so they are
reproducible: the rate each method needs for a target PSNR, and how each alternative compares
with a todlm row at that row's own rate.

Rates between two measured points of a method are interpolated linearly in (log bpts, metric);
below a method's lowest measured rate it is taken at that lowest point, which can only flatter it
(more bits never hurt these codecs): todlm beating that point is a win at equal rate, todlm
losing to it says nothing (None)."""

import math

TODLM = ("todlm", "todlm-grid-mlp", "hprc-leader-recipe")  # the suite's methods that train a todlm model


def _curve(rows: list[dict], dataset: str, method: str, metric: str) -> list[tuple[float, float]]:
    return sorted((r["bpts"], r[metric]) for r in rows if r["dataset"] == dataset and r["method"] == method
                  and r.get("bpts") and r.get(metric) is not None)


def _at(curve: list[tuple[float, float]], bpts: float) -> float | None:
    """The method's metric at `bpts`: interpolated, the lowest point below its range, and None
    above it (not measured that high)."""
    if not curve or bpts > curve[-1][0]:
        return None
    if bpts <= curve[0][0]:
        return curve[0][1]
    for (b0, m0), (b1, m1) in zip(curve, curve[1:]):
        if b0 <= bpts <= b1:
            w = 0.0 if b1 == b0 else (math.log(bpts) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return m0 + w * (m1 - m0)
    return None


def bpts_for_psnr(rows: list[dict], dataset: str, method: str, target: float = 45.0) -> dict:
    """{"bpts": rate at which the method first reaches `target`, or None, "max_measured": its
    highest measured rate}. Non-todlm methods are rate-ordered curves; a todlm method's rows are
    presets and ablations, so its answer is the lowest rate of any row at or above the target."""
    curve = _curve(rows, dataset, method, "psnr")
    out = {"bpts": None, "max_measured_bpts": curve[-1][0] if curve else None}
    if method in TODLM:
        hits = [b for b, p in curve if p >= target]
        out["bpts"] = min(hits) if hits else None
        return out
    for i, (b1, p1) in enumerate(curve):
        if p1 >= target:
            if i == 0:
                out["bpts"] = b1
            else:
                b0, p0 = curve[i - 1]
                out["bpts"] = math.exp(math.log(b0) + (target - p0) / (p1 - p0) * (math.log(b1) - math.log(b0)))
            break
    return out


def at_equal_rate(rows: list[dict], dataset: str, preset: str) -> dict:
    """Each alternative with a rate knob: its PSNR and FLIP at the rate of todlm's `preset` row,
    beside todlm's, and whether todlm is better in both."""
    mine = [r for r in rows if r["dataset"] == dataset and r["method"] == "todlm" and r["preset"] == preset]
    if not mine or not mine[0].get("bpts"):
        return {}
    me = mine[0]
    out = {"todlm": {"preset": preset, "bpts": me["bpts"], "psnr": me["psnr"], "flip": me["flip"]}}
    methods = sorted({r["method"] for r in rows if r["dataset"] == dataset and r["method"] not in TODLM
                      and r.get("bpts")})
    for method in methods:
        curve = _curve(rows, dataset, method, "psnr")
        if len(curve) < 2:
            continue  # one rate (fp16+zstd, the lossless reference): no curve to read at another rate
        psnr = _at(curve, me["bpts"])
        flip = _at(_curve(rows, dataset, method, "flip"), me["bpts"])
        read_at = max(me["bpts"], curve[0][0])
        better = None
        if psnr is not None and flip is not None and me["flip"] is not None:
            better = bool(me["psnr"] > psnr and me["flip"] < flip)
            if not better and read_at > me["bpts"]:
                better = None  # it lost to a point with more bits than todlm's: no verdict
        out[method] = {"psnr": psnr, "flip": flip, "read_at_bpts": read_at, "todlm_better": better}
    return out


def summarise(rows: list[dict], target: float = 45.0) -> dict:
    """Per dataset: bpts for `target` dB per method, and the equal-rate comparison for every
    todlm preset that has run there."""
    out = {}
    for dataset in sorted({r["dataset"] for r in rows}):
        methods = sorted({r["method"] for r in rows if r["dataset"] == dataset and r.get("bpts")})
        presets = sorted({r["preset"] for r in rows if r["dataset"] == dataset and r["method"] == "todlm"})
        out[dataset] = {f"bpts_for_{target:g}dB": {m: bpts_for_psnr(rows, dataset, m, target) for m in methods},
                        "at_todlm_rate": {p: at_equal_rate(rows, dataset, p) for p in presets}}
    return out
