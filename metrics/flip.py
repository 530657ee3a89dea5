"""HDR-FLIP (NVIDIA, PyPI flip-evaluator) on linear frames, averaged over valid texels."""

import numpy as np


def hdr_flip(gt: np.ndarray, rec: np.ndarray, mask: np.ndarray) -> float:
    import flip_evaluator

    if not mask.any():
        return float("nan")
    error_map, _, _ = flip_evaluator.evaluate(
        np.ascontiguousarray(gt, np.float32), np.ascontiguousarray(np.maximum(rec, 0), np.float32),
        "HDR", applyMagma=False, computeMeanError=False)
    return float(np.asarray(error_map).reshape(mask.shape)[mask].mean())
