"""HDR-FLIP (NVIDIA, PyPI flip-evaluator) on linear frames, averaged over valid texels."""

import numpy as np


def hdr_flip(gt: np.ndarray, rec: np.ndarray, mask: np.ndarray) -> float:
    """Invalid texels are zeroed in both images first: what lies there (a bake's dilated margin)
    must neither set FLIP's exposure range nor bleed into the valid texels' error."""
    import flip_evaluator

    if not mask.any():
        return float("nan")
    keep = mask[..., None]
    error_map, _, _ = flip_evaluator.evaluate(
        np.ascontiguousarray(np.where(keep, gt, 0), np.float32),
        np.ascontiguousarray(np.where(keep, np.maximum(rec, 0), 0), np.float32),
        "HDR", applyMagma=False, computeMeanError=False)
    return float(np.asarray(error_map).reshape(mask.shape)[mask].mean())


def mean_flip(gt, frames: np.ndarray) -> float:
    """The mean over a LightmapSet's times of hdr_flip against decoded frames [T, H, W, 3]."""
    return float(np.mean([hdr_flip(gt.frames[i], frames[i], gt.masks[i]) for i in range(gt.n_times)]))
