"""Temporal flicker: how much the reconstruction's frame-to-frame change departs from the GT's."""

import numpy as np


def flicker(gt: np.ndarray, rec: np.ndarray, masks: np.ndarray, times: np.ndarray) -> float:
    """sum |(I_t - I_t-1) - (G_t - G_t-1)| / sum |G_t - G_t-1| over consecutive times (sorted)
    and texels valid at both; 0 = the GT's motion exactly, nan with fewer than two times."""
    order = np.argsort(times)
    num = den = 0.0
    for a, b in zip(order[:-1], order[1:]):
        valid = masks[a] & masks[b]
        dg = gt[b][valid].astype(np.float64) - gt[a][valid]
        di = rec[b][valid].astype(np.float64) - rec[a][valid]
        num += np.abs(di - dg).sum()
        den += np.abs(dg).sum()
    if len(order) < 2:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(num / den)
