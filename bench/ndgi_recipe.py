"""NDGI's recipe as a bench method (`ndgi-recipe`): Neural Dynamic GI (CVPR 2026, arXiv
2604.12625), the strongest published peer for time-of-day lightmaps, as its paper describes it,
trained and scored on the bench's datasets so that its figures and todlm's come from the same data.

The model: a uv feature plane, ut and vt planes and a low-resolution uvt volume (time periodic
over 24 h), their features and a sin/cos time encoding into a 2-hidden-layer GELU MLP that gives
the texel's colour at that time. Every feature map is trained through a simulation of BC7 block
compression (straight-through) and ships as BC7: each group of 4 channels is one RGBA8 texture
of BC7 mode-6 blocks, encoded here exactly as training simulated them and decoded by an
independent BC7 decoder (`texture2ddecoder`) before scoring, so the figures are those of the
shipped feature maps. The MLP ships in float16. Counted size = BC7 blocks + MLP.

What the paper leaves open, and what is chosen here (docs/decisions.md, "NDGI side by side"):
resolutions and channel counts (chosen so that M and L land at the paper's 0.68 and 0.50 bpts;
a half-resolution uv plane of 4x the channels beat a full-resolution one at the same bits by
1 dB on the sample);
the value domain and loss (todlm's: value-domain MSE on (x / peak)^(1/2) plus the linear
per-tile-peak MSE, so the comparison is of the representation, not the loss); the schedule
(Adam at 0.05 for the maps, 3 dB above 0.01 on the sample, and 0.005 for the MLP, decaying to
5%; BC simulation over the second half: from the start or from 20% gave the same); the BC simulation
(BC7 mode 6 exactly: one segment per 4x4 block and 4-channel group, along its principal axis,
7-bit endpoints with p-bits, BC7's 16 interpolation weights; a full-mode encoder, `etcpak`,
stores other values than the network trained against, which cost 4-7.5 dB in trials). The paper's
virtual texturing (a model per tile) is a streaming device and is not reproduced: one model
covers the lightmap."""

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from todlm.format.lightmap_set import LightmapSet

from .baselines import Outcome

BLOCK = 4  # BC7 codes 4x4 texel blocks
BC7_FROM = 0.5  # the fraction of training before the BC7 simulation starts


@dataclass(frozen=True)
class NDGISize:
    uv_channels: int  # feature plane (multiples of 4: a BC7 texture is RGBA)
    uv_downsample: int
    t_channels: int  # each of the ut and vt planes, at the uv plane's resolution along its axis
    t_cells: int  # the planes' time cells over 24 h
    volume_channels: int
    volume_downsample: int
    volume_cells: int  # the volume's time cells over 24 h
    hidden: int
    frequencies: int  # sin/cos of 2 pi k t / 24, k = 1..frequencies
    steps: int = 4000
    batch: int = 16384  # (texel, time) pairs per step


# the paper's M and L rates (0.68 and 0.50 bpts) on 256^2 and 512^2 lightmaps of 26 times
SIZES = {"M": NDGISize(32, 2, 4, 24, 4, 8, 8, 32, 4), "L": NDGISize(16, 2, 4, 24, 4, 4, 8, 16, 4)}


WEIGHTS = (0, 4, 9, 13, 17, 21, 26, 30, 34, 38, 43, 47, 51, 55, 60, 64)  # BC7's 4-bit index weights (/64)


def blocks_of(values):
    """[R, C, 4k] -> [r, c, k, 16, 4]: 4x4 blocks (edge-replicated to whole blocks) per 4-channel group."""
    import torch.nn.functional as F

    rows, cols, ch = values.shape
    v = F.pad(values.permute(2, 0, 1)[None], (0, (-cols) % BLOCK, 0, (-rows) % BLOCK), mode="replicate")
    v = v[0].permute(1, 2, 0)
    r, c = v.shape[0] // BLOCK, v.shape[1] // BLOCK
    return v.reshape(r, BLOCK, c, BLOCK, ch // 4, 4).permute(0, 2, 4, 1, 3, 5).reshape(r, c, ch // 4, 16, 4)


def unblock(blocks, rows: int, cols: int):
    r, c, k = blocks.shape[:3]
    full = blocks.reshape(r, c, k, BLOCK, BLOCK, 4).permute(0, 3, 1, 4, 2, 5).reshape(r * BLOCK, c * BLOCK, 4 * k)
    return full[:rows, :cols]


def mode6(blocks):
    """BC7 mode 6 coding of [.., 16, 4] texels in [0, 1]: (endpoint 7-bit codes [.., 2, 4], p-bits
    [.., 2], indices [.., 16], decoded texels [.., 16, 4] in [0, 1]). Endpoints at the extremes of
    the block's principal axis, each at the p-bit that lands it nearer; each texel at its nearest
    of the 16 interpolated levels, computed as a BC7 decoder does (integers, rounding)."""
    import torch

    centre = blocks.mean(-2, keepdim=True)
    spread = blocks - centre
    cov = spread.transpose(-1, -2) @ spread
    axis = torch.ones_like(centre)
    for _ in range(8):  # power iteration: the principal axis, where encoders put the segment
        axis = axis @ cov
        axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    along = (spread * axis).sum(-1, keepdim=True)
    ends = torch.cat([centre + along.min(-2, keepdim=True).values * axis,
                      centre + along.max(-2, keepdim=True).values * axis], -2).clamp(0, 1) * 255  # [.., 2, 4]
    codes, bits = [], []
    for p in (0, 1):
        c7 = torch.clamp(torch.round((ends - p) / 2), 0, 127)
        codes.append(c7)
        bits.append(((2 * c7 + p - ends) ** 2).sum(-1))
    p = (bits[1] < bits[0]).to(ends.dtype)  # [.., 2]
    c7 = torch.where(p[..., None] > 0, codes[1], codes[0])
    e = 2 * c7 + p[..., None]  # 8-bit endpoints
    w = torch.tensor(WEIGHTS, dtype=ends.dtype, device=ends.device)
    levels = torch.floor(((64 - w)[:, None] * e[..., :1, :] + w[:, None] * e[..., 1:, :] + 32) / 64)  # [.., 16, 4]
    dist = ((blocks[..., :, None, :] * 255 - levels[..., None, :, :]) ** 2).sum(-1)  # [.., 16 texels, 16 levels]
    index = dist.argmin(-1)
    decoded = torch.gather(levels, -2, index[..., None].expand(*index.shape, 4)) / 255
    return c7, p, index, decoded


def bc7_simulated(values, enabled: bool = True):
    """[R, C, 4k] values in [0, 1] exactly as BC7 mode 6 stores and decodes them (mode6), with a
    straight-through gradient."""
    if not enabled:
        return values
    stored = unblock(mode6(blocks_of(values.detach()))[3], values.shape[0], values.shape[1])
    return values + (stored - values).detach()


def pack_mode6(c7: np.ndarray, p: np.ndarray, index: np.ndarray) -> bytes:
    """BC7 mode-6 blocks (16 bytes each, LSB first: mode bits 0000001, R0 R1 G0 G1 B0 B1 A0 A1 at 7
    bits, P0 P1, then 16 indices, the first with its top bit implied 0: a block whose first index
    is 8 or more swaps its endpoints and inverts its indices). c7 [n, 2, 4], p [n, 2], index [n, 16]."""
    c7, p, index = c7.astype(np.uint64).copy(), p.astype(np.uint64).copy(), index.astype(np.uint64).copy()
    swap = index[:, 0] >= 8
    c7[swap], p[swap], index[swap] = c7[swap][:, ::-1], p[swap][:, ::-1], 15 - index[swap]
    fields = [(np.full(len(c7), 1 << 6, np.uint64), 7)]
    fields += [(c7[:, e, ch], 7) for ch in range(4) for e in range(2)]
    fields += [(p[:, 0], 1), (p[:, 1], 1), (index[:, 0], 3)] + [(index[:, i], 4) for i in range(1, 16)]
    lo, hi, shift = np.zeros(len(c7), np.uint64), np.zeros(len(c7), np.uint64), 0
    for value, width in fields:
        for b in range(width):  # bit by bit: fields straddle the two 64-bit halves
            bit = (value >> np.uint64(b)) & np.uint64(1)
            if shift < 64:
                lo |= bit << np.uint64(shift)
            else:
                hi |= bit << np.uint64(shift - 64)
            shift += 1
    return np.stack([lo, hi], 1).astype("<u8").tobytes()


def model_class():
    """The torch module, built on first use (the bench imports torch only where it trains)."""
    import torch
    from torch import nn

    class NDGIModel(nn.Module):
        def __init__(self, size: NDGISize, width: int, height: int):
            super().__init__()
            self.size, self.width, self.height = size, width, height
            uv_rows, uv_cols = math.ceil(height / size.uv_downsample), math.ceil(width / size.uv_downsample)
            v_rows, v_cols = math.ceil(height / size.volume_downsample), math.ceil(width / size.volume_downsample)

            def table(*shape):
                return nn.Parameter(torch.rand(*shape) * 0.2 + 0.4)  # kept in [0, 1]: the BC7 range

            self.uv = table(uv_rows, uv_cols, size.uv_channels)
            self.ut = table(size.t_cells, uv_cols, size.t_channels)
            self.vt = table(size.t_cells, uv_rows, size.t_channels)
            self.volume = table(size.volume_cells, v_rows, v_cols, size.volume_channels)
            n_in = size.uv_channels + 2 * size.t_channels + size.volume_channels + 2 * size.frequencies
            self.mlp = nn.Sequential(nn.Linear(n_in, size.hidden), nn.GELU(), nn.Linear(size.hidden, size.hidden),
                                     nn.GELU(), nn.Linear(size.hidden, 3))
            self.bc7 = False

        def maps(self) -> dict:
            """The feature maps as 2D RGBA textures' values [rows, cols, 4k], as they ship."""
            return {"uv": self.uv, "ut": self.ut, "vt": self.vt,
                    "volume": self.volume.reshape(-1, self.volume.shape[2], self.volume.shape[3])}

        def stored(self, name: str):
            v = self.maps()[name].clamp(0, 1)
            return bc7_simulated(v, self.bc7)

        def forward(self, ys, xs, ts):
            s = self.size
            uv = self.stored("uv")
            ut, vt = self.stored("ut"), self.stored("vt")
            vol = self.stored("volume").reshape(self.volume.shape)
            uv_rows, uv_cols = spatial_taps(ys, self.height, uv.shape[0]), spatial_taps(xs, self.width, uv.shape[1])
            v_rows, v_cols = spatial_taps(ys, self.height, vol.shape[1]), spatial_taps(xs, self.width, vol.shape[2])
            t0, t1, ft = periodic_taps(ts, vol.shape[0])
            feats = [bilinear(uv, uv_rows, uv_cols),
                     bilinear(ut, periodic_taps(ts, s.t_cells), uv_cols),
                     bilinear(vt, periodic_taps(ts, s.t_cells), uv_rows),
                     bilinear(vol, v_rows, v_cols, t0) * (1 - ft) + bilinear(vol, v_rows, v_cols, t1) * ft]
            k = torch.arange(1, s.frequencies + 1, dtype=ts.dtype, device=ts.device)
            phase = ts[:, None] * k * (2 * math.pi / 24)
            return self.mlp(torch.cat(feats + [torch.sin(phase), torch.cos(phase)], 1))

    return NDGIModel


def spatial_taps(pos, texels: int, cells: int):
    """(lower, upper, weight [N, 1]) of texel positions on an axis of `cells` cells: the trainer's
    texel-centre mapping (trainer.model.bilinear_taps)."""
    from todlm.trainer.model import bilinear_taps

    i0, f = bilinear_taps(pos, texels, cells)
    return i0, i0 + 1, f[:, None]


def periodic_taps(ts, cells: int):
    """(lower, upper, weight [N, 1]) of hours on a time axis of `cells` cells over 24 h, wrapping."""
    import torch

    g = torch.remainder(ts, 24.0) / 24.0 * cells
    i0 = torch.floor(g)
    f = g - i0
    i0 = i0.long() % cells
    return i0, (i0 + 1) % cells, f[:, None]


def bilinear(table, rows, cols, *lead):
    """table[*lead, row, col] blended over the rows' and columns' taps."""
    (r0, r1, fr), (c0, c1, fc) = rows, cols
    top = table[(*lead, r0, c0)] * (1 - fc) + table[(*lead, r0, c1)] * fc
    bottom = table[(*lead, r1, c0)] * (1 - fc) + table[(*lead, r1, c1)] * fc
    return top * (1 - fr) + bottom * fr


def train(lightmap: LightmapSet, size: NDGISize, seed: int = 0, steps: int | None = None):
    """The trained model and its value scale (peak): todlm's value domain and losses, on random
    (texel, time) pairs; BC7 simulated over the second half of the steps."""
    import torch

    from todlm.format.model_config import ValueConfig
    from todlm.trainer.data import TrainingData, value_scale
    from todlm.trainer.loop import linear_loss
    from todlm.trainer import value_transform

    torch.manual_seed(seed)
    value = ValueConfig(transform="gamma", gamma=2.0, scale=value_scale(lightmap, "gamma"))
    data = TrainingData.from_set(lightmap, value)
    model = model_class()(size, lightmap.width, lightmap.height)
    tables = [model.uv, model.ut, model.vt, model.volume]
    optim = torch.optim.Adam([{"params": tables, "lr": 0.05}, {"params": model.mlp.parameters(), "lr": 0.005}],
                             betas=(0.9, 0.99), eps=1e-15)
    base = [g["lr"] for g in optim.param_groups]
    gen = torch.Generator().manual_seed(seed)
    steps = steps or size.steps
    n_texels, n_times = data.width * data.height, data.times.numel()
    for step in range(steps):
        frac = step / max(steps - 1, 1)
        for g, lr in zip(optim.param_groups, base):
            g["lr"] = lr * 0.05 ** frac
        model.bc7 = step >= steps * BC7_FROM
        idx = torch.randint(n_texels, (size.batch,), generator=gen)
        ti = torch.randint(n_times, (size.batch,), generator=gen)
        ys, xs = torch.div(idx, data.width, rounding_mode="floor").float(), (idx % data.width).float()
        pred = model(ys, xs, data.times[ti])
        mask = data.mask[ti, idx][:, None]
        value_mse = ((pred - data.target[ti, idx]) ** 2 * mask * data.frame_weight[ti][:, None]).mean()
        err = (value_transform.inverse(pred, value) - data.linear[ti, idx]) ** 2 * data.weight[ti, idx][:, None]
        lin, _ = linear_loss(err, ti * data.n_tiles + data.tile[idx], data.weight[ti, idx] > 0,
                             n_times * data.n_tiles, 0.0)
        loss = value_mse + lin
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        with torch.no_grad():
            for t in tables:
                t.clamp_(0, 1)
    model.bc7 = True
    return model, value


def ship_bc7(model) -> int:
    """Encodes each feature map as BC7 mode-6 blocks (pack_mode6, the blocks training simulated),
    replaces it by what a BC7 decoder (texture2ddecoder) makes of them, and returns the shipped
    bytes: the blocks. Values are stored in [0, 1] (training keeps them there), so no ranges."""
    import texture2ddecoder
    import torch

    total = 0
    with torch.no_grad():
        for name, values in model.maps().items():
            rows, cols, ch = values.shape
            blocks = blocks_of(values.clamp(0, 1))
            r, c = blocks.shape[:2]
            out = np.empty((rows, cols, ch), np.float32)
            for g in range(ch // 4):
                c7, p, index, _ = mode6(blocks[:, :, g])
                data = pack_mode6(c7.reshape(-1, 2, 4).numpy(), p.reshape(-1, 2).numpy(), index.reshape(-1, 16).numpy())
                total += len(data)
                bgra = np.frombuffer(texture2ddecoder.decode_bc7(data, c * BLOCK, r * BLOCK), np.uint8)
                rgba = bgra.reshape(r * BLOCK, c * BLOCK, 4)[:rows, :cols, [2, 1, 0, 3]]
                out[:, :, 4 * g:4 * g + 4] = rgba.astype(np.float32) / 255
            target = getattr(model, name)
            target.copy_(torch.from_numpy(out).reshape(target.shape))
    model.bc7 = False  # the maps now hold the decoded BC7 values themselves
    return total


def frames(model, value, lightmap_times, height: int, width: int) -> np.ndarray:
    """[T, H, W, 3] linear frames at `lightmap_times`."""
    import torch

    from todlm.trainer import value_transform

    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    ys, xs = ys.reshape(-1).float(), xs.reshape(-1).float()
    out = np.empty((len(lightmap_times), height, width, 3), np.float32)
    with torch.no_grad():
        for i, t in enumerate(lightmap_times):
            pred = model(ys, xs, torch.full_like(ys, float(t)))
            out[i] = value_transform.inverse(pred, value).reshape(height, width, 3).numpy()
    return out


def ndgi_recipe(train_set: LightmapSet, size_name: str, unseen_times=None, steps: int | None = None) -> Outcome:
    """Trains NDGI at `size_name` (SIZES) on the training frames, ships its feature maps as real
    BC7, and returns the decoded frames (training and unseen times) with the shipped size."""
    import torch

    size = SIZES[size_name]
    start = time.perf_counter()
    model, value = train(train_set, size, steps=steps)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    stored = ship_bc7(model) + 2 * sum(p.numel() for p in model.mlp.parameters())  # MLP in float16
    export_s = time.perf_counter() - start
    with torch.no_grad():
        for p in model.mlp.parameters():
            p.copy_(p.half().float())
    h, w = train_set.height, train_set.width
    out = frames(model, value, train_set.times, h, w)
    start = time.perf_counter()
    frames(model, value, [12.0], h, w)
    decode_ms = 1e3 * (time.perf_counter() - start)
    unseen = frames(model, value, unseen_times, h, w) if unseen_times is not None and len(unseen_times) else None
    note = (f"NDGI {size_name} (arXiv 2604.12625) as described: uv/ut/vt planes + uvt volume, GELU MLP, "
            f"BC7-simulated training, shipped as BC7 mode-6 blocks; torch CPU decode")
    return Outcome(stored, out, unseen, decode_ms, stored, train_s, note, stored, export_s,
                   {"ndgi": {"size": size_name, **asdict(size), "steps": steps or size.steps}})
