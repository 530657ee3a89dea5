"""The judge's SSIM as a training loss on a random patch. Texel-wise losses spread the error
of a moving shadow as a soft ghost over the frame, which the judge's SSIM (structure, not
energy) punishes more than its PSNR does; a small weight of 1 - SSIM trades a little PSNR for
it (docs/decisions.md, "Loss").

The SSIM map is torchmetrics' (Gaussian window 11, sigma 1.5, k1 0.01, k2 0.03) at every patch
position whose window lies inside the patch, with the judge's data range: the ground-truth
tile's max - min at that time (todlm.metrics.ssim). Invalid texels are zero in both images (the
judge zeroes them in the reconstruction), and positions in uncounted tiles weigh nothing."""

from functools import lru_cache

import torch

from todlm.metrics.ssim import K1, K2, WINDOW, gaussian_window

from . import value_transform
from .data import TrainingData
from .model import GridMLP


@lru_cache(maxsize=8)
def blur_matrix(size: int, device) -> torch.Tensor:
    """[size - WINDOW + 1, size]: one separable pass of the Gaussian window, valid positions only;
    as a matrix product its backward pass is two matrix products (a conv2d's is far slower on CPU).
    Cached: every training step uses the same patch side (read only, never written)."""
    window = torch.from_numpy(gaussian_window()).float()
    band = torch.zeros(size - WINDOW + 1, size)
    for i in range(band.shape[0]):
        band[i, i:i + WINDOW] = window
    return band.to(device)


def patch_size(data: TrainingData, wanted: int) -> int:
    """The patch side: `wanted`, shrunk to a small lightmap; 0 when the lightmap is smaller than a window."""
    side = min(wanted, data.height, data.width)
    return side if side >= WINDOW else 0


def patch_ssim_loss(model: GridMLP, data: TrainingData, y0, x0, size: int, times: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - SSIM over the patch at (y0, x0) (ints or 0-d tensors: one per member of a
    stacked group) of side `size` at time indices `times` (a basis model evaluates each texel's
    coefficients once for all of them)."""
    device = data.linear.device
    side = torch.arange(size, device=device)
    yy, xx = torch.meshgrid(side, side, indexing="ij")
    yy, xx = yy + y0, xx + x0
    idx = (yy * data.width + xx).reshape(-1)
    ys, xs = yy.reshape(-1).float(), xx.reshape(-1).float()
    features = model.features(ys, xs)
    if model.time_layer is not None:
        coef = model.coefficients(features, ys, xs)
        pred = model.at_times(coef, data.times[times])
    else:
        pred = torch.stack([model.head(features, ys, xs, data.times[t].expand(idx.numel())) for t in times])
    pred = value_transform.inverse(pred + model.base(ys, xs), model.config.value, data.scale)
    n = times.numel()
    rows = times[:, None]  # index times and texels together: data.linear[times] would copy every frame
    rec = (pred * data.mask[rows, idx][..., None]).reshape(n, size, size, 3).permute(0, 3, 1, 2)
    gt = data.linear[rows, idx].reshape(n, size, size, 3).permute(0, 3, 1, 2)
    band = blur_matrix(size, device)

    def blur(img):
        return band @ img @ band.T

    half = (WINDOW - 1) // 2
    inner = idx.reshape(size, size)[half:size - half, half:size - half].reshape(-1)
    span = data.tile_range[rows, data.tile[inner]].reshape(n, 1, size - 2 * half, size - 2 * half)
    counted = span > 0
    span = torch.where(counted, span, torch.ones_like(span))
    c1, c2 = (K1 * span) ** 2, (K2 * span) ** 2
    with torch.no_grad():
        mu_gt = blur(gt)
        var_gt = (blur(gt * gt) - mu_gt * mu_gt).clamp_min(0)
    mu_rec = blur(rec)
    var_rec = (blur(rec * rec) - mu_rec * mu_rec).clamp_min(0)
    cov = blur(rec * gt) - mu_rec * mu_gt
    ssim = ((2 * mu_rec * mu_gt + c1) * (2 * cov + c2)) / ((mu_rec ** 2 + mu_gt ** 2 + c1) * (var_rec + var_gt + c2))
    counted = counted.to(ssim.dtype).expand_as(ssim)
    return ((1 - ssim) * counted).sum() / counted.sum().clamp_min(1)
