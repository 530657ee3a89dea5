"""Fitting the knot residual (KnotResidual) after training: one low-resolution value-domain image
per (lamp state, knot), by least squares against what the decoded artifact still gets wrong at
the training times. A basis of k terms shared by every hour cannot hold what changes from one
baked hour to the next on its own (moonlight, a bake's own low-frequency blotches); HDR-FLIP
sees those changes on dim surfaces that the judge's per-tile-peak PSNR barely weighs (docs/decisions.md,
"A knot residual behind a FLIP floor"). Fitting the artifact's error, not the float model's, also takes up the
quantisation's low-frequency part."""

import numpy as np
import torch
import torch.nn.functional as F

from todlm.format.lightmap_set import LightmapSet

from . import value_transform
from .model import GridMLP

ITERATIONS = 200  # L-BFGS iterations: the problem is quadratic, and converges well within them


def fit_knot_residual(model: GridMLP, decoded: np.ndarray, lightmap: LightmapSet,
                      iterations: int = ITERATIONS) -> None:
    """Sets model.knot_residual's images (and makes it active): the least-squares fit, over the
    lightmap's valid texels and times, of the value-domain error of `decoded` ([T, H, W, 3], the
    model's export decoded at the lightmap's times, its knot residual still zeros)."""
    residual = model.knot_residual
    v = model.config.value
    target = value_transform.forward(torch.from_numpy(lightmap.frames.astype(np.float32)), v)
    decoded = value_transform.forward(torch.from_numpy(decoded), v)
    mask = torch.from_numpy(lightmap.masks)[:, None].to(torch.float32)  # [T, 1, H, W]
    error = (target - decoded).permute(0, 3, 1, 2) * mask
    del target, decoded
    weights = residual.weights(torch.from_numpy(np.asarray(lightmap.times, np.float64)))  # [T, P]
    count = mask.sum().clamp_min(1.0) * 3
    images = torch.zeros(residual.images.permute(0, 3, 1, 2).shape, requires_grad=True)
    height, width = lightmap.height, lightmap.width
    optim = torch.optim.LBFGS([images], lr=1.0, max_iter=iterations, history_size=20, tolerance_grad=1e-12,
                              tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure():
        optim.zero_grad()
        # align_corners=False bilinear is MODEL.md's texel-centre sampling (KnotResidual.forward's)
        up = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
        loss = (((torch.einsum("tp,pchw->tchw", weights, up) - error) * mask) ** 2).sum() / count
        loss.backward()
        return loss

    optim.step(closure)
    with torch.no_grad():
        residual.images.copy_(images.detach().permute(0, 2, 3, 1))
    residual.active = True
