"""LPIPS (AlexNet, v0.1) as the HPRC judge runs it, only where its weights exist locally.

The torchvision AlexNet ImageNet weights cannot be downloaded on our machines; without them
LPIPS is reported unavailable, never replaced by another number.
"""

import os
from typing import Callable

import numpy as np

ALEXNET_WEIGHTS = "alexnet-owt-7be5be79.pth"


class LpipsUnavailable(RuntimeError):
    pass


def _normalise(tile: np.ndarray) -> np.ndarray:
    lo, hi = float(tile.min()), float(tile.max())
    return tile if hi == lo else (tile - lo) / (hi - lo)


def load_lpips() -> Callable[[np.ndarray, np.ndarray], float]:
    """Returns lpips(gt_tile, rec_tile) on [h,w,3] arrays, or raises LpipsUnavailable(reason)."""
    try:
        import torch
        import lpips
    except ImportError as exc:
        raise LpipsUnavailable(f"needs torch and the lpips package ({exc.name} is not installed)") from None
    weights = os.path.join(torch.hub.get_dir(), "checkpoints", ALEXNET_WEIGHTS)
    if not os.path.isfile(weights):
        raise LpipsUnavailable(f"AlexNet ImageNet weights not found at {weights}")
    model = lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()

    def score(gt: np.ndarray, rec: np.ndarray) -> float:
        to_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(_normalise(a).transpose(2, 0, 1)[None], np.float32))
        with torch.no_grad():
            return float(model(to_tensor(gt), to_tensor(rec)).item())

    return score
