"""Quality, rate and score metrics; numpy/scipy only (LPIPS loads torch lazily, if present).

Sits beside the decoder: it depends on todlm.format only, so evaluation needs no torch.
"""

from .flicker import flicker
from .flip import hdr_flip
from .hprc import TILE, HPRCEvaluator, iter_tiles, tile_psnr
from .lpips_metric import LpipsUnavailable, load_lpips
from .rate import bpts, hprc_ratio
from .report import evaluate_lightmap
from .score import SCORE_RANGES, hprc_score
from .ssim import ssim_torchmetrics

__all__ = [
    "HPRCEvaluator", "LpipsUnavailable", "SCORE_RANGES", "TILE", "bpts", "evaluate_lightmap",
    "flicker", "hdr_flip", "hprc_ratio", "hprc_score", "iter_tiles", "load_lpips",
    "ssim_torchmetrics", "tile_psnr",
]
