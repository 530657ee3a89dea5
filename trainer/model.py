"""GridMLP in PyTorch: multi-resolution dense feature grids (optionally with a latent texture
from a BaselineEncoder beside them) + a small MLP over features and time features (or, with a
factorised time basis, over features alone, plus an optional full-resolution detail plane, dotted
with a linear function of time), optionally added to a learned low-resolution baseline image and a
fitted low-resolution image per time knot (KnotResidual). The
decoder's kernels (todlm.decoder) compute the same function; tests/test_parity.py holds them equal."""

import math

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from todlm.decoder.knot_cache import KnotPlanes
from todlm.decoder.weights import MLP_WEIGHT_BITS
from todlm.format.container_writer import Tensor
from todlm.format.model_config import DetailConfig, LatentConfig, ModelConfig, baseline_shape, hash_index, level_table

from todlm.format.quant import AffineQuant

from .time_encoding import time_features



def bilinear_taps(pos: torch.Tensor, texels: int, cells: int):
    """Texel centres map onto cell centres: g = (pos + 0.5) * cells / texels - 0.5, clamped to
    the grid; returns the lower index and the weight of the upper one."""
    g = ((pos + 0.5) * (cells / texels) - 0.5).clamp(0.0, cells - 1.0)
    i0 = torch.clamp(torch.floor(g), max=cells - 2)
    return i0.long(), g - i0


def fake_quant(values: torch.Tensor, bits: int, axis: int = -1) -> torch.Tensor:
    """The values export will store (affine per channel along `axis`, todlm.format.quant.calibrate's
    min/max rule), with a straight-through gradient: quantisation-aware training."""
    if axis % values.ndim != values.ndim - 1:
        return fake_quant(values.movedim(axis, -1), bits).movedim(-1, axis)
    flat = values.detach().reshape(-1, values.shape[-1])
    lo, hi = flat.min(0).values.clamp(max=0.0), flat.max(0).values.clamp(min=0.0)
    qmax = (1 << bits) - 1
    scale = (hi - lo) / (qmax - 1)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    zero = torch.clamp(torch.round(-lo / scale), 0, qmax)
    q = torch.clamp(torch.round(values / scale) + zero, 0, qmax)
    return values + ((q - zero) * scale - values).detach()


class GridSampler(nn.Module):
    """A rows x cols lattice of features (`values`, from the subclass) sampled bilinearly at
    texel positions; `quant_bits` set means it is sampled through fake quantisation."""

    def __init__(self, rows: int, cols: int, width: int, height: int):
        super().__init__()
        self.width, self.height, self.rows, self.cols = width, height, rows, cols
        self.quant_bits: int | None = None

    def index(self, cy: torch.Tensor, cx: torch.Tensor) -> torch.Tensor:
        return cy * self.cols + cx

    def forward(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        y0, fy = bilinear_taps(ys, self.height, self.rows)
        x0, fx = bilinear_taps(xs, self.width, self.cols)
        values = self.values if self.quant_bits is None else fake_quant(self.values, self.quant_bits)
        flat = values.reshape(-1, values.shape[-1])
        fx, fy = fx[:, None], fy[:, None]
        top = flat[self.index(y0, x0)] * (1 - fx) + flat[self.index(y0, x0 + 1)] * fx
        bottom = flat[self.index(y0 + 1, x0)] * (1 - fx) + flat[self.index(y0 + 1, x0 + 1)] * fx
        return top * (1 - fy) + bottom * fy


class DenseGrid(GridSampler):
    """A learned [rows, cols, C] feature image."""

    def __init__(self, rows: int, cols: int, channels: int, width: int, height: int, init: float = 1e-2):
        super().__init__(rows, cols, width, height)
        self.values = nn.Parameter(torch.empty(*self.table_shape(channels)).uniform_(-init, init))

    def table_shape(self, channels: int) -> tuple[int, ...]:
        return self.rows, self.cols, channels


class HashGrid(DenseGrid):
    """The same lattice of rows x cols cells, its features kept in a table of M entries that
    cells share by a spatial hash (Instant-NGP): capacity for detail where the lattice is finer
    than the storage."""

    def __init__(self, rows: int, cols: int, entries: int, channels: int, width: int, height: int,
                 init: float = 1e-2):
        self.entries = entries
        super().__init__(rows, cols, channels, width, height, init)

    def table_shape(self, channels: int) -> tuple[int, ...]:
        return self.entries, channels

    def index(self, cy: torch.Tensor, cx: torch.Tensor) -> torch.Tensor:
        return hash_index(cy, cx, self.entries)


class BaselineEncoder(GridSampler):
    """The latent texture as the output of a small CNN over the baseline (mean training) frame
    rather than free parameters: neighbouring cells share the encoder's weights, so the texture
    starts from the image's structure. Only the texture is exported; the CNN stays here."""

    def __init__(self, latent: LatentConfig, width: int, height: int):
        rows, cols = baseline_shape(latent.downsample, width, height)
        super().__init__(rows, cols, width, height)
        layers, c_in = [], 3
        for _ in range(max(1, math.ceil(math.log2(latent.downsample)))):
            layers += [nn.Conv2d(c_in, latent.hidden, 3, stride=2 if latent.downsample > 1 else 1, padding=1),
                       nn.ReLU()]
            c_in = latent.hidden
        self.cnn = nn.Sequential(*layers, nn.Conv2d(latent.hidden, latent.channels, 1))
        with torch.no_grad():  # start near zero like the grids, so the texture does not swamp the MLP
            self.cnn[-1].weight.mul_(0.01)
            self.cnn[-1].bias.zero_()
        self.register_buffer("image", torch.zeros(1, 3, height, width), persistent=False)

    def set_image(self, image: torch.Tensor) -> None:
        """image: [H, W, 3], the baseline frame in the value domain."""
        self.image.copy_(image.permute(2, 0, 1)[None])

    @property
    def values(self) -> torch.Tensor:
        """[rows, cols, C]"""
        return F.adaptive_avg_pool2d(self.cnn(self.image), (self.rows, self.cols))[0].permute(1, 2, 0)


# The step of the mean-square-optimal uniform quantiser of a unit Gaussian with 2^b levels (Max,
# 1960): a detail plane's values are roughly Gaussian, and these steps clip its rare tails.
GAUSSIAN_STEP = {1: 1.596, 2: 0.9957, 3: 0.5860, 4: 0.3352, 5: 0.1881, 6: 0.1041, 7: 0.0569, 8: 0.0308}


class DetailPlane(nn.Module):
    """The detail plane (DetailConfig): [H, W, J] values, always sampled as stored (codes
    floor(x / step) + 2^(b-1), step = GAUSSIAN_STEP[b] x the channel's std), with a straight-
    through gradient, and a [3, J] colour. Floor rather than round puts the thresholds
    symmetrically around 0 (at 1 bit: the sign); the half-step offset it leaves is a constant
    the MLP's bias absorbs."""

    def __init__(self, config: DetailConfig, width: int, height: int, init: float = 1e-2):
        super().__init__()
        self.bits, self.width, self.zero = config.bits, width, 1 << (config.bits - 1)
        self.values = nn.Parameter(torch.empty(height, width, config.channels).uniform_(-init, init))
        self.colour = nn.Parameter(torch.zeros(3, config.channels))
        self.stored = False  # True: values already hold dequantised codes (an artifact's), used as they are

    def step(self) -> torch.Tensor:
        """[J] the quantiser's step, from the whole plane's spread."""
        flat = self.values.detach().reshape(-1, self.values.shape[-1])
        return (GAUSSIAN_STEP[self.bits] * flat.std(0)).clamp_min(1e-12)

    def codes(self, values: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """The stored integer codes (as floats) of `values`."""
        return torch.clamp(torch.floor(values.detach() / step) + self.zero, 0, (1 << self.bits) - 1)

    def quantiser(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(codes [H, W, J] as floats, step [J], zero point): what export stores."""
        step = self.step()
        return self.codes(self.values, step), step, self.zero

    def export_into(self, arrays) -> None:
        """Its stored codes, quantiser and colour into a decoder.weights.GridMLPArrays."""
        codes, step, zero = self.quantiser()
        q = AffineQuant(self.bits, 2, step.cpu().numpy().astype(np.float32), np.full(codes.shape[-1], zero, np.int64))
        arrays.detail = Tensor(codes.cpu().numpy().astype(np.uint8), quant=q.to_json(), dtype=q.storage_dtype)
        arrays.detail_colour = self.colour.detach().cpu().numpy().astype(np.float32)

    def load_from(self, weights) -> None:
        """An artifact's dequantised values (decoder.weights.GridMLPWeights), used as they are."""
        with torch.no_grad():
            self.values.copy_(torch.from_numpy(np.array(weights.detail)))
            self.colour.copy_(torch.from_numpy(np.array(weights.detail_colour)))
        self.stored = True

    def forward(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """[N, J] at integer texels; only the sampled texels are quantised."""
        x = self.values.reshape(-1, self.values.shape[-1])[ys.long() * self.width + xs.long()]
        if self.stored:
            return x
        step = self.step()
        stored = (self.codes(x, step) - self.zero) * step
        return stored + (x - x.detach())  # exactly the stored values, gradient straight through


class KnotResidual(nn.Module):
    """KnotResidualConfig: [P, rows, cols, 3] value-domain images, one per (lamp state, knot) pair
    a frame can weight (the knot cache's planes, in their order), sampled like the baseline and
    blended by the knot's hat weight. The training losses see only time-independent terms, so it
    is not trained with the network: knot_residual_fit.py fits it afterwards to the decoded
    artifact's error. Until then it is zeros and `active` is False (forward adds nothing)."""

    def __init__(self, config: ModelConfig, width: int, height: int):
        super().__init__()
        self.time, self.width, self.height = config.time, width, height
        pairs = torch.from_numpy(KnotPlanes(config).pairs())
        self.register_buffer("lamp", pairs[:, 0].to(torch.float32), persistent=False)
        self.register_buffer("knot", pairs[:, 1], persistent=False)
        rows, cols = baseline_shape(config.knot_residual.downsample, width, height)
        self.register_buffer("images", torch.zeros(pairs.shape[0], rows, cols, 3))
        self.active = False

    @property
    def pairs(self) -> list[list[int]]:
        return [[int(a), int(b)] for a, b in zip(self.lamp.tolist(), self.knot.tolist())]

    def export_into(self, arrays) -> None:
        """Its images and their (lamp state, knot) pairs, once fitted (until then it adds nothing)."""
        if self.active:
            arrays.knot_residual = self.images.detach().cpu().numpy().astype(np.float32)
            arrays.knot_residual_planes = self.pairs

    def load_from(self, weights) -> None:
        with torch.no_grad():
            self.images.copy_(torch.from_numpy(np.array(weights.knot_residual)))
        self.active = True

    def weights(self, ts: torch.Tensor) -> torch.Tensor:
        """[N, P]: each image's weight at each t (its knot's hat weight if t's lamp state is its own)."""
        f = time_features(ts, self.time)
        night = f[:, self.time.knots] if self.time.lamp_state else torch.zeros_like(f[:, 0])
        return f[:, self.knot] * (night[:, None] == self.lamp[None, :])

    def forward(self, ys: torch.Tensor, xs: torch.Tensor, ts: torch.Tensor) -> torch.Tensor | float:
        if not self.active:
            return 0.0
        rows, cols = self.images.shape[1:3]
        y0, fy = bilinear_taps(ys, self.height, rows)
        x0, fx = bilinear_taps(xs, self.width, cols)
        fy, fx = fy[None, :, None], fx[None, :, None]
        top = self.images[:, y0, x0] * (1 - fx) + self.images[:, y0, x0 + 1] * fx
        bottom = self.images[:, y0 + 1, x0] * (1 - fx) + self.images[:, y0 + 1, x0 + 1] * fx
        return torch.einsum("np,pnc->nc", self.weights(ts), top * (1 - fy) + bottom * fy)


class SunWindow(nn.Module):
    """SunWindowConfig: the sun term's time layer (time features -> sun.k weights d(t)) and its
    gate, sigmoid((t - t_on) / w) sigmoid((t_off - t) / w), with the window's ends t = 12 + 8
    tanh(o) from the MLP's last two outputs. `progress` (the fraction of training done) anneals
    w from WIDTH_START hours to sun.width over the first ANNEAL of training: a wide gate lets every
    hour's frame pull a window's ends, a narrow one makes the shadow edge sharp."""

    WIDTH_START, ANNEAL = 1.5, 0.8

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.layer = nn.Linear(config.time_features, config.sun.k)
        self.progress = 1.0  # a trained or loaded model decodes at sun.width

    def width(self) -> float:
        end = self.config.sun.width
        return self.WIDTH_START * (end / self.WIDTH_START) ** min(self.progress / self.ANNEAL, 1.0)

    def weights(self, ts: torch.Tensor) -> torch.Tensor:
        """d(t), [T, sun.k]."""
        return self.layer(time_features(ts, self.config.time))

    def gate(self, ends: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        """ends: [N, 2] raw window ends; ts: [N] or [T, 1] hours -> [N] or [T, N]."""
        t, w = torch.remainder(ts, 24.0), self.width()
        on, off = 12 + 8 * torch.tanh(ends[:, 0]), 12 + 8 * torch.tanh(ends[:, 1])
        return torch.sigmoid((t - on) / w) * torch.sigmoid((off - t) / w)

    def export_into(self, arrays) -> None:
        arrays.sun_weight = self.layer.weight.detach().cpu().numpy().astype(np.float32)
        arrays.sun_bias = self.layer.bias.detach().cpu().numpy().astype(np.float32)

    def load_from(self, weights) -> None:
        with torch.no_grad():
            self.layer.weight.copy_(torch.from_numpy(np.array(weights.sun_weight)))
            self.layer.bias.copy_(torch.from_numpy(np.array(weights.sun_bias)))


class GridMLP(nn.Module):
    def __init__(self, config: ModelConfig, width: int, height: int):
        super().__init__()
        self.config, self.width, self.height = config, width, height
        g = config.grid
        self.grids = nn.ModuleList(self._level(i, width, height) for i in range(len(g.resolutions)))
        if config.residual.enabled:
            rows, cols = baseline_shape(config.residual.downsample, width, height)
            self.baseline = DenseGrid(rows, cols, 3, width, height, init=0.0)
        else:
            self.baseline = None
        self.latent = BaselineEncoder(config.latent, width, height) if config.latent.channels else None
        self.detail = DetailPlane(config.detail, width, height) if config.detail.channels else None
        self.knot_residual = KnotResidual(config, width, height) if config.knot_residual.downsample else None
        sizes = [config.mlp_inputs] + [config.mlp.hidden] * config.mlp.layers + [config.mlp_outputs]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.time_layer = nn.Linear(config.time_features, config.basis.k) if config.basis.k else None
        self.sun = SunWindow(config) if config.sun.k else None
        self.mlp_quant_bits: int | None = None  # set: the layers' weights go through fake quantisation
        with torch.no_grad():
            self.layers[-1].weight.mul_(0.1)
            self.layers[-1].bias.zero_()
            if self.sun is not None:  # windows start open over the whole day, 5.5 to 18.5 h
                self.layers[-1].bias[-2:] = torch.atanh(torch.tensor([-6.5 / 8, 6.5 / 8]))

    def parts(self) -> list[nn.Module]:
        """The optional parts that export and load themselves (export_into, load_from)."""
        return [part for part in (self.detail, self.knot_residual, self.sun) if part is not None]

    def cell_parameters(self) -> list[nn.Parameter]:
        """Tables of per-cell or per-texel values, trained at the grids' learning rate: the dense
        levels and the detail plane (hashed levels have their own rate)."""
        cells = [g.values for g in self.grids if not isinstance(g, HashGrid)]
        return cells + ([self.detail.values] if self.detail is not None else [])

    def set_fake_quant(self, enabled: bool) -> None:
        """Sample grids and baseline, and apply 8-bit MLP weights, as export will store them (or as
        floats again)."""
        self.mlp_quant_bits = MLP_WEIGHT_BITS if enabled and self.config.mlp.weights == "uint8" else None
        for grid in self.grids:
            grid.quant_bits = self.config.grid.bits if enabled else None
        if self.baseline is not None:
            self.baseline.quant_bits = self.config.residual.bits if enabled else None
        if self.latent is not None:
            self.latent.quant_bits = self.config.latent.bits if enabled else None

    def features(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        latent = [self.latent(ys, xs)] if self.latent is not None else []
        return torch.cat([grid(ys, xs) for grid in self.grids] + latent, dim=1)

    def _level(self, i: int, width: int, height: int) -> DenseGrid:
        rows, cols, entries = level_table(i, self.config.grid, width, height)
        channels = self.config.grid.channels
        if entries:
            return HashGrid(rows, cols, entries, channels, width, height)
        return DenseGrid(rows, cols, channels, width, height)

    def _linear(self, layer: nn.Linear, h: torch.Tensor) -> torch.Tensor:
        if self.mlp_quant_bits is None:
            return layer(h)
        return F.linear(h, fake_quant(layer.weight, self.mlp_quant_bits, axis=0), layer.bias)

    def _mlp(self, h: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            h = torch.relu(self._linear(layer, h))
        return self._linear(self.layers[-1], h)

    def coefficients(self, features: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        """Basis mode: the time-independent coefficients a(x), [N, 3, k]; with a sun window
        [N, 3, k + sun.k + 2]: then the sun coefficients and the window's raw ends (the same in
        each colour's row)."""
        n, k = features.shape[0], self.config.basis.k
        out = self._mlp(features)
        coef = out[:, :3 * k].reshape(n, 3, k)
        if self.detail is not None:
            j = self.config.detail.channels
            coef = torch.cat([coef[:, :, :j] + self.detail(ys, xs)[:, None, :] * self.detail.colour, coef[:, :, j:]], 2)
        if self.sun is None:
            return coef
        s = self.config.sun.k
        return torch.cat([coef, out[:, 3 * k:3 * k + 3 * s].reshape(n, 3, s), out[:, None, -2:].expand(n, 3, 2)], 2)

    def basis_weights(self, ts: torch.Tensor) -> torch.Tensor:
        """Basis mode: b(t), [N, k]."""
        return self.time_layer(time_features(ts, self.config.time))

    def at_times(self, coef: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Basis mode: the value at each of `times` [T] of each texel's coefficients, [T, N, 3]."""
        k = self.config.basis.k
        value = torch.einsum("nck,tk->tnc", coef[..., :k], self.basis_weights(times))
        if self.sun is None:
            return value
        s = self.config.sun.k
        sun = torch.einsum("nck,tk->tnc", coef[..., k:k + s], self.sun.weights(times))
        return value + self.sun.gate(coef[:, 0, k + s:], times[:, None])[..., None] * sun

    def head(self, features: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        if self.time_layer is not None:
            coef, k = self.coefficients(features, ys, xs), self.config.basis.k
            value = torch.einsum("nck,nk->nc", coef[..., :k], self.basis_weights(ts))
            if self.sun is None:
                return value
            s = self.config.sun.k
            sun = torch.einsum("nck,nk->nc", coef[..., k:k + s], self.sun.weights(ts))
            return value + self.sun.gate(coef[:, 0, k + s:], ts)[:, None] * sun
        return self._mlp(torch.cat([features, time_features(ts, self.config.time)], dim=1))

    def base(self, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor | float:
        return self.baseline(ys, xs) if self.baseline is not None else 0.0

    def forward(self, ys: torch.Tensor, xs: torch.Tensor, ts: torch.Tensor) -> torch.Tensor:
        """Prediction in the transformed value domain, [N, 3]."""
        out = self.head(self.features(ys, xs), ys, xs, ts) + self.base(ys, xs)
        return out if self.knot_residual is None else out + self.knot_residual(ys, xs, ts)

    def frame(self, t: float, chunk: int = 1 << 16) -> torch.Tensor:
        """Whole frame [H, W, 3] in the transformed domain (evaluation of the float model)."""
        device = self.layers[0].weight.device
        ys, xs = torch.meshgrid(torch.arange(self.height, device=device), torch.arange(self.width, device=device),
                                indexing="ij")
        ys, xs = ys.reshape(-1).float(), xs.reshape(-1).float()
        out = []
        for s in range(0, ys.numel(), chunk):
            y, x = ys[s:s + chunk], xs[s:s + chunk]
            out.append(self(y, x, torch.full_like(y, float(t))))
        return torch.cat(out).reshape(self.height, self.width, 3)
