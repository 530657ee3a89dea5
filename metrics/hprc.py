"""The HPRC judge's per-tile quality metrics (../shared/docs/hprc-protocol.md, to the letter).

Frames are cut into 256x256 tiles (smaller at the right/bottom edge). A tile counts if it
has a valid texel and its ground-truth maximum is not 0. Before scoring, invalid texels of
the reconstruction are zeroed, as the judge does in place. PSNR: valid texels only, peak =
max of the valid GT values of the tile. SSIM and LPIPS: the whole tile. Every reported
figure is the plain mean over all counted tiles x times x lightmaps.
"""

from typing import Callable, Iterator

import numpy as np

from .ssim import ssim_torchmetrics

TILE = 256


def iter_tiles(height: int, width: int, tile: int = TILE) -> Iterator[tuple[slice, slice]]:
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            yield slice(y, min(y + tile, height)), slice(x, min(x + tile, width))


def tile_psnr(gt: np.ndarray, rec: np.ndarray, valid: np.ndarray) -> float:
    g = gt[valid].astype(np.float64)
    r = rec[valid].astype(np.float64)
    mse = np.mean((g - r) ** 2)
    peak = g.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(10.0 * np.log10(peak * peak / mse))


class HPRCEvaluator:
    """Accumulates tile scores over frames and lightmaps; `summary()` gives the judge's means."""

    def __init__(self, lpips: Callable[[np.ndarray, np.ndarray], float] | None = None):
        self.lpips = lpips
        self.psnr: list[float] = []
        self.ssim: list[float] = []
        self.lpips_scores: list[float] = []

    def add_frame(self, gt: np.ndarray, rec: np.ndarray, mask: np.ndarray) -> dict:
        """gt, rec: [H,W,3]; mask: [H,W] bool. Returns this frame's own tile means."""
        if gt.shape != rec.shape or gt.shape[:2] != mask.shape:
            raise ValueError(f"gt {gt.shape}, reconstruction {rec.shape} and mask {mask.shape} differ")
        rec = np.where(mask[..., None], rec, 0).astype(np.float32)
        start = len(self.psnr)
        for ys, xs in iter_tiles(*mask.shape):
            valid = mask[ys, xs]
            g = gt[ys, xs]
            if not valid.any() or g.max() == 0:
                continue
            r = rec[ys, xs]
            self.psnr.append(tile_psnr(g, r, valid))
            self.ssim.append(ssim_torchmetrics(r, g, data_range=float(g.max()) - float(g.min())))
            if self.lpips is not None:
                self.lpips_scores.append(self.lpips(g, r))
        return _means(self.psnr[start:], self.ssim[start:],
                      self.lpips_scores[start:] if self.lpips is not None else None)

    def summary(self) -> dict:
        return _means(self.psnr, self.ssim, self.lpips_scores if self.lpips is not None else None)


def score_frames(gt: np.ndarray, frames, masks: np.ndarray) -> dict:
    """The judge's means over a sequence: gt [T,H,W,3], frames (T reconstructions), masks [T,H,W]."""
    evaluator = HPRCEvaluator()
    for i, frame in enumerate(frames):
        evaluator.add_frame(gt[i], frame, masks[i])
    return evaluator.summary()


def _means(psnr, ssim, lpips) -> dict:
    with np.errstate(invalid="ignore"):
        return {
            "tiles": len(psnr),
            "psnr": float(np.mean(psnr)) if psnr else float("nan"),
            "ssim": float(np.mean(ssim)) if ssim else float("nan"),
            "lpips": (float(np.mean(lpips)) if lpips else float("nan")) if lpips is not None else None,
        }
