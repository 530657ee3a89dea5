"""All quality figures of one reconstructed lightmap, per time and overall."""

import numpy as np

from todlm.format.lightmap_set import LightmapSet

from .flicker import flicker
from .flip import hdr_flip
from .hprc import HPRCEvaluator


def evaluate_lightmap(gt: LightmapSet, rec: np.ndarray, hprc: HPRCEvaluator | None = None,
                      with_flip: bool = True, progress=None) -> dict:
    """rec: [T,H,W,3] at gt.times. Feeds `hprc` (shared across lightmaps for the judge's
    pooled means) and returns this lightmap's own means, its per-time rows, FLIP and flicker."""
    if rec.shape != gt.frames.shape:
        raise ValueError(f"reconstruction {rec.shape} does not match ground truth {gt.frames.shape}")
    own = HPRCEvaluator(hprc.lpips if hprc is not None else None)
    rows = []
    for i, t in enumerate(gt.times):
        frame = own.add_frame(gt.frames[i], rec[i], gt.masks[i])
        if hprc is not None:
            hprc.add_frame(gt.frames[i], rec[i], gt.masks[i])
        frame["time"] = float(t)
        if with_flip:
            frame["flip"] = hdr_flip(gt.frames[i], rec[i], gt.masks[i])
        rows.append(frame)
        if progress is not None:
            progress()
    summary = own.summary()
    summary["flip"] = float(np.nanmean([r["flip"] for r in rows])) if with_flip else None
    summary["flicker"] = flicker(gt.frames, rec, gt.masks, gt.times)
    summary["per_time"] = rows
    return summary
