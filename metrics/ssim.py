"""SSIM exactly as torchmetrics' StructuralSimilarityIndexMeasure computes it by default.

Gaussian window 11 (sigma 1.5), k1 0.01, k2 0.03, reflect padding of 5 so the SSIM map has
the image's size, variances clamped at 0, the mean over every channel and pixel. The HPRC
judge passes data_range = gt.max() - gt.min() per tile.
"""

import numpy as np
from scipy.ndimage import correlate1d

SIGMA = 1.5
WINDOW = int(3.5 * SIGMA + 0.5) * 2 + 1  # 11, torchmetrics' gauss_kernel_size
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    dist = np.arange((1 - size) / 2, (1 + size) / 2, 1.0)
    g = np.exp(-((dist / sigma) ** 2) / 2)
    return g / g.sum()


def _blur(img: np.ndarray, window: np.ndarray) -> np.ndarray:
    pad = (window.size - 1) // 2
    out = correlate1d(img, window, axis=0, mode="constant")
    out = correlate1d(out, window, axis=1, mode="constant")
    return out[pad:-pad, pad:-pad]


def ssim_torchmetrics(pred: np.ndarray, target: np.ndarray, data_range: float | None = None) -> float:
    """pred, target: [H, W, C] linear values; data_range None = torchmetrics' own default."""
    pred = np.asarray(pred, np.float64)
    target = np.asarray(target, np.float64)
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(f"SSIM needs two [H,W,C] arrays of one shape, got {pred.shape} and {target.shape}")
    if data_range is None:
        data_range = max(pred.max() - pred.min(), target.max() - target.min())
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    window = gaussian_window()
    pad = (window.size - 1) // 2
    padding = ((pad, pad), (pad, pad), (0, 0))
    p = np.pad(pred, padding, mode="reflect")
    t = np.pad(target, padding, mode="reflect")
    mu_p, mu_t = _blur(p, window), _blur(t, window)
    mu_pp, mu_tt, mu_pt = mu_p * mu_p, mu_t * mu_t, mu_p * mu_t
    sigma_pp = np.maximum(_blur(p * p, window) - mu_pp, 0.0)
    sigma_tt = np.maximum(_blur(t * t, window) - mu_tt, 0.0)
    sigma_pt = _blur(p * t, window) - mu_pt
    with np.errstate(divide="ignore", invalid="ignore"):
        ssim_map = ((2 * mu_pt + c1) * (2 * sigma_pt + c2)) / ((mu_pp + mu_tt + c1) * (sigma_pp + sigma_tt + c2))
    return float(ssim_map.mean())
