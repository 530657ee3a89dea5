"""One lightmap's frames as training tensors: targets in the model's value domain, masks, the
judge's per-tile peaks as linear-loss weights, and adjacent-time pairs for the temporal loss."""

from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import ValueConfig
from todlm.metrics.hprc import iter_tiles

from . import value_transform


@dataclass
class TrainingData:
    width: int
    height: int
    times: torch.Tensor  # [T] hours, sorted
    linear: torch.Tensor  # [T, H*W, 3] ground truth, linear HDR
    target: torch.Tensor  # [T, H*W, 3] ground truth in the value domain
    mask: torch.Tensor  # [T, H*W] 1 = valid texel
    weight: torch.Tensor  # [T, H*W] 1 / peak^2 of the texel's HPRC tile at that time (0 if uncounted)
    next_index: torch.Tensor  # [T] index of the next time (wrapping)
    pair_ok: torch.Tensor  # [T] 1 where (i, next) is a temporal pair: same lamp state, distinct times
    frame_weight: torch.Tensor  # [T] value-domain loss weight of each time (balance_weights)
    tile: torch.Tensor  # [H*W] index of the texel's HPRC tile
    n_tiles: int
    tile_range: torch.Tensor  # [T, tiles] the judge's SSIM data range: GT max - min (0 if uncounted)
    scale: torch.Tensor  # [] the value domain's scale (ValueConfig.scale) for this lightmap

    def tensors(self) -> dict[str, torch.Tensor]:
        """The per-lightmap tensors, which a stacked group holds with a leading model axis."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), torch.Tensor)}

    @classmethod
    def from_set(cls, lightmap: LightmapSet, value: ValueConfig, device="cpu",
                 balance: str = "mean-square") -> "TrainingData":
        s = lightmap.sorted_by_time()
        t, h, w, _ = s.frames.shape
        weight = np.zeros((t, h, w), np.float32)
        tiles = list(iter_tiles(h, w))
        tile_range = np.zeros((t, len(tiles)), np.float32)
        tile = np.zeros((h, w), np.int64)
        for j, (ys, xs) in enumerate(tiles):
            tile[ys, xs] = j
        for i in range(t):
            for j, (ys, xs) in enumerate(tiles):
                valid = s.masks[i, ys, xs]
                if valid.any():
                    peak = float(s.frames[i, ys, xs][valid].max())
                    if peak > 0:
                        weight[i, ys, xs] = 1.0 / (peak * peak)
                        tile_range[i, j] = float(s.frames[i, ys, xs].max()) - float(s.frames[i, ys, xs].min())
        linear = torch.from_numpy(np.where(s.masks[..., None], s.frames, 0).reshape(t, h * w, 3)).to(device)
        target = value_transform.forward(linear, value)
        mask = torch.from_numpy(s.masks.reshape(t, h * w).astype(np.float32)).to(device)
        frame_weight = balance_weights(target, mask, balance)
        nxt = (np.arange(t) + 1) % t
        pair_ok = (s.lamps == s.lamps[nxt]) & (nxt != np.arange(t))
        return cls(w, h, torch.from_numpy(s.times.astype(np.float32)).to(device), linear, target, mask,
                   torch.from_numpy((weight * s.masks).reshape(t, h * w)).to(device),
                   torch.from_numpy(nxt).to(device), torch.from_numpy(pair_ok.astype(np.float32)).to(device),
                   frame_weight, torch.from_numpy(tile.reshape(-1)).to(device), int(tile.max()) + 1,
                   torch.from_numpy(tile_range).to(device), torch.tensor(float(value.scale), device=device))

    def mean_target(self, rows: int, cols: int) -> torch.Tensor:
        """The masked mean over time of the target, area-resampled to [rows, cols, 3]: the
        baseline image's starting point."""
        m = self.mask[..., None]
        mean = (self.target * m).sum(0) / m.sum(0).clamp_min(1)
        img = mean.reshape(self.height, self.width, 3).permute(2, 0, 1)[None]
        return F.interpolate(img, size=(rows, cols), mode="area")[0].permute(1, 2, 0).contiguous()


def balance_weights(target: torch.Tensor, mask: torch.Tensor, balance: str) -> torch.Tensor:
    """Per-time weights of the value-domain MSE: the mean over times of a frame statistic
    divided by the frame's own, so that a dark (night) frame counts as much as a bright one.
    "mean-square" is ruled by the brightest texels (a lamp's hot spot); "median" by the typical
    texel, which weighs lamp-lit nights with dark moonlit surfaces more."""
    if balance == "none":
        return torch.ones(target.shape[0], device=target.device)
    if balance == "median":
        stat = torch.stack([target[i][mask[i] > 0].median() if mask[i].any() else target.new_tensor(0.0)
                            for i in range(target.shape[0])]) ** 2
    else:
        stat = ((target ** 2).sum(-1) * mask).sum(1) / (3 * mask.sum(1)).clamp_min(1)
    return stat.mean() / stat.clamp_min(1e-12 * float(stat.max()) + 1e-30)


def value_scale(lightmap: LightmapSet, transform: str) -> float:
    """Normalise by the brightest valid texel (log1p keeps absolute units, as its users expect)."""
    if transform == "log1p":
        return 1.0
    peak = float(np.max(lightmap.frames, initial=0.0, where=lightmap.masks[..., None]))
    return peak if peak > 0 else 1.0
