"""The GridMLP model description stored in every .tlm (decoder/MODEL.md): plain
dataclasses <-> JSON, shared by the trainer (which writes it) and the decoder (which reads it),
so neither can drift from the other."""

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .errors import FormatError
from .quant import AFFINE_STORAGE

GRID_BITS = tuple(b for b in AFFINE_STORAGE if b >= 4)  # grids and latent textures: min/max-calibrated
DETAIL_BITS = tuple(b for b in AFFINE_STORAGE if b <= 8)
KNOT_RESIDUAL_BITS = tuple(b for b in AFFINE_STORAGE if b >= 2)  # min/max calibration needs a spare step

MODEL_TYPE = "gridmlp"
# What a gridmlp model may use beyond dense grids, the MLP and the time features (decoder/MODEL.md);
# a file lists the ones it needs, so a decoder that lacks one names it instead of misreading the file.
MODEL_FEATURES = ("hash_grid", "baseline_image", "time_basis", "latent_texture", "detail_plane", "knot_residual",
                  "mlp_uint8", "sun_window")
LEGACY_SCHEMAS = (1, 2, 3, 4, 5, 6)  # files written before feature lists: schema n allowed MODEL_FEATURES[:n + 1]
MLP_WEIGHTS = ("float16", "float32", "uint8")  # uint8: affine per output row, as the grids (MODEL.md)
TIME_ENCODINGS = ("fourier", "hat")
VALUE_TRANSFORMS = ("gamma", "log1p", "mulaw", "linear")


@dataclass
class GridConfig:
    """Dense 2D feature grids; `resolutions` count cells per 256 texels of the lightmap's long
    side, so a model costs the same bits per texel at every lightmap size."""

    resolutions: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    channels: int = 7
    bits: int = 8  # 4-8 (4-7 are bit-packed: FORMAT.md, section dtype) or 16
    hash_top_levels: int = 0  # the finest levels whose cells outnumber hash_capacity use a hash table
    hash_capacity: int = 1 << 14  # entries of each hash table (a power of two)


@dataclass
class TimeConfig:
    """Smooth time encoding of t in [0, 24) (24 wraps to 0) plus, optionally, the lamp bit."""

    encoding: str = "hat"
    frequencies: int = 4  # fourier: sin/cos of 2*pi*k*t/24 for k = 1..frequencies
    knots: int = 24  # hat: periodic piecewise-linear basis with knots every 24/knots hours
    lamp_state: bool = True


@dataclass
class MLPConfig:
    hidden: int = 32
    layers: int = 2  # hidden layers, ReLU after each
    weights: str = "float16"  # how the layer weights are stored: MLP_WEIGHTS


@dataclass
class ValueConfig:
    """The network predicts transform(x / scale); the decoder inverts it."""

    transform: str = "gamma"
    gamma: float = 2.2
    mu: float = 5000.0
    scale: float = 1.0  # set from the data at training time (its maximum)


@dataclass
class DetailConfig:
    """channels J > 0 (time-basis models, J <= basis.k): a full-resolution plane of J low-bit
    values per texel; value j, times a learned colour (3 numbers), adds to the texel's
    coefficients of basis function j. It holds the per-texel detail (bake noise, texture, sharp
    edges) that the grids, at most one cell per 2 x 2 texels, blur; a decoder that caches the
    coefficients pays nothing for it per frame."""

    channels: int = 0
    bits: int = 2


@dataclass
class KnotResidualConfig:
    """downsample d > 0 (hat time encoding): a low-resolution value-domain image
    (ceil(H/d) x ceil(W/d) x 3) per (lamp state, knot) pair, added with the knot's hat weight. It
    holds what changes from one baked hour to the next at low spatial frequency (moonlight, a
    bake's own blotches), which a k-term time basis shared by every hour does not, and which
    HDR-FLIP sees on dim surfaces. Fitted after training, to the decoded artifact's error; a
    knot-cache decoder folds it into its planes, so a cached frame costs nothing more."""

    downsample: int = 0
    bits: int = 8
    mu: float = 4096.0  # stored mu-law companded (knot_residual_expand), so small corrections keep their precision


def knot_residual_compand(r: np.ndarray, peak: np.ndarray, mu: float) -> np.ndarray:
    """[P, ...] images -> values in [-1, 1]: sign(r) log(1 + mu |r| / peak[p]) / log(1 + mu). The
    images' few large corrections (hot texels) would otherwise set an 8-bit step far above the
    small ones on dim surfaces that the residual exists for."""
    shape = (-1,) + (1,) * (r.ndim - 1)
    return (np.sign(r) * np.log1p(mu * np.abs(r) / peak.reshape(shape)) / np.log1p(mu)).astype(np.float32)


def knot_residual_expand(c: np.ndarray, peak: np.ndarray, mu: float) -> np.ndarray:
    """knot_residual_compand's inverse: sign(c) peak[p] (exp(|c| log(1 + mu)) - 1) / mu."""
    shape = (-1,) + (1,) * (c.ndim - 1)
    return (np.sign(c) * np.expm1(np.abs(c) * np.log1p(mu)) / mu * peak.reshape(shape)).astype(np.float32)


@dataclass
class SunWindowConfig:
    """k > 0 (time-basis models): a sun term beside the time basis, gated per texel by a window in
    time: the MLP also gives 3k sun coefficients and the window's two ends, a linear layer maps
    the time features to k sun weights, and the term (their dot product) counts with weight
    sigmoid((t - t_on) / width) sigmoid((t_off - t) / width). A shadow edge is then where a
    smooth t_on field crosses t: it moves with t, where a time basis blends it between the hours."""

    k: int = 0
    width: float = 0.2  # hours: the gate's steepness at decode (training anneals towards it)


@dataclass
class ResidualConfig:
    """Prediction = baseline image + MLP output, in the transformed value domain."""

    enabled: bool = True
    downsample: int = 4  # the baseline image has ceil(W/d) x ceil(H/d) texels
    bits: int = 8


@dataclass
class BasisConfig:
    """k > 0: factorised time. The MLP maps grid features alone to k coefficients per colour
    channel, a linear layer maps time features to k basis weights, and a frame is their dot
    product, so a decoder can cache the coefficients and decode a frame with k multiply-adds per
    texel and channel. k = 0: time features enter the MLP's first layer."""

    k: int = 0


@dataclass
class LatentConfig:
    """channels > 0: a low-resolution latent texture (ceil(H/d) x ceil(W/d) x channels, stored like
    a grid level) whose features the MLP reads beside the grids. The trainer produces it with a
    BaselineEncoder, a small CNN over the mean training frame, rather than as free parameters; the
    decoder reads the stored texture. channels is a multiple of grid.channels so the kernels see
    it as channels / grid.channels more dense levels."""

    channels: int = 0
    downsample: int = 8
    bits: int = 8
    hidden: int = 32  # the encoder CNN's width (training only; the CNN is not stored)


@dataclass
class ModelConfig:
    grid: GridConfig = field(default_factory=GridConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    mlp: MLPConfig = field(default_factory=MLPConfig)
    value: ValueConfig = field(default_factory=ValueConfig)
    residual: ResidualConfig = field(default_factory=ResidualConfig)
    basis: BasisConfig = field(default_factory=BasisConfig)
    latent: LatentConfig = field(default_factory=LatentConfig)
    detail: DetailConfig = field(default_factory=DetailConfig)
    knot_residual: KnotResidualConfig = field(default_factory=KnotResidualConfig)
    sun: SunWindowConfig = field(default_factory=SunWindowConfig)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data, where=None) -> "ModelConfig":
        if not isinstance(data, dict):
            raise FormatError(where, "model config must be an object")
        parts = {}
        for f in fields(cls):
            sub = data.get(f.name, {})
            if not isinstance(sub, dict):
                raise FormatError(where, f"model config {f.name!r} must be an object")
            part_cls = f.default_factory().__class__
            known = {g.name for g in fields(part_cls)}
            try:
                parts[f.name] = part_cls(**{k: v for k, v in sub.items() if k in known})
            except TypeError as exc:
                raise FormatError(where, f"model config {f.name!r}: {exc}") from None
        config = cls(**parts)
        config.validate(where)
        return config

    def validate(self, where=None) -> None:
        def need(ok: bool, problem: str):
            if not ok:
                raise FormatError(where, f"model config: {problem}")

        g, t, m, v, r, b = self.grid, self.time, self.mlp, self.value, self.residual, self.basis
        need(isinstance(g.resolutions, list) and 1 <= len(g.resolutions) <= 16
             and all(_int(x) and 1 <= x <= 65536 for x in g.resolutions), "grid.resolutions must be 1-16 sizes")
        need(_int(g.channels) and 1 <= g.channels <= 64, "grid.channels must be 1..64")
        need(g.bits in GRID_BITS, "grid.bits must be 4..8 or 16")
        need(_int(g.hash_top_levels) and 0 <= g.hash_top_levels <= len(g.resolutions),
             "grid.hash_top_levels must be 0..number of levels")
        need(_int(g.hash_capacity) and 16 <= g.hash_capacity <= 1 << 24
             and g.hash_capacity & (g.hash_capacity - 1) == 0, "grid.hash_capacity must be a power of two, 16..2^24")
        need(t.encoding in TIME_ENCODINGS, f"time.encoding must be one of {TIME_ENCODINGS}")
        need(_int(t.frequencies) and 0 <= t.frequencies <= 64, "time.frequencies must be 0..64")
        need(_int(t.knots) and 2 <= t.knots <= 1024, "time.knots must be 2..1024")
        need(isinstance(t.lamp_state, bool), "time.lamp_state must be true/false")
        need(_int(m.hidden) and 1 <= m.hidden <= 1024, "mlp.hidden must be 1..1024")
        need(_int(m.layers) and 0 <= m.layers <= 8, "mlp.layers must be 0..8")
        need(m.weights in MLP_WEIGHTS, f"mlp.weights must be one of {', '.join(MLP_WEIGHTS)}")
        need(v.transform in VALUE_TRANSFORMS, f"value.transform must be one of {VALUE_TRANSFORMS}")
        need(_num(v.gamma) and v.gamma > 0 and _num(v.mu) and v.mu > 0 and _num(v.scale) and v.scale > 0,
             "value gamma, mu and scale must be positive numbers")
        need(isinstance(r.enabled, bool) and _int(r.downsample) and 1 <= r.downsample <= 64
             and r.bits in (8, 16), "residual needs enabled, downsample 1..64, bits 8/16")
        need(_int(b.k) and 0 <= b.k <= 64, "basis.k must be 0..64")
        lat = self.latent
        need(_int(lat.channels) and 0 <= lat.channels <= 64 and lat.channels % g.channels == 0,
             "latent.channels must be 0..64 and a multiple of grid.channels")
        need(_int(lat.downsample) and 1 <= lat.downsample <= 64 and lat.bits in GRID_BITS
             and _int(lat.hidden) and 1 <= lat.hidden <= 256, "latent needs downsample 1..64, bits 4..8/16, hidden 1..256")
        d = self.detail
        need(_int(d.channels) and 0 <= d.channels <= b.k and d.bits in DETAIL_BITS,
             "detail needs channels 0..basis.k (a time-basis model) and bits 1..8")
        kr = self.knot_residual
        need(_int(kr.downsample) and 0 <= kr.downsample <= 64 and kr.bits in KNOT_RESIDUAL_BITS
             and _num(kr.mu) and 0 < kr.mu < 1e9, "knot_residual needs downsample 0..64, bits 2..8 or 16, mu > 0")
        sun = self.sun
        need(_int(sun.k) and 0 <= sun.k <= 16 and _num(sun.width) and 0.01 <= sun.width <= 6,
             "sun needs k 0..16 and width 0.01..6 hours")
        need(not sun.k or b.k > 0, "sun.k > 0 needs a time basis (basis.k > 0)")
        if kr.downsample:
            need(t.encoding == "hat" and b.k > 0, "knot_residual needs the hat time encoding and a time basis")
            need(not r.enabled or r.downsample == kr.downsample,
                 "knot_residual.downsample must equal residual.downsample when the model has a baseline")

    @property
    def time_features(self) -> int:
        """Width of the time part of the MLP input (encoding, then the lamp bit)."""
        enc = 2 * self.time.frequencies if self.time.encoding == "fourier" else self.time.knots
        return enc + (1 if self.time.lamp_state else 0)

    @property
    def features(self) -> list[str]:
        """The MODEL_FEATURES this config uses, in that order."""
        used = {"hash_grid": self.grid.hash_top_levels > 0, "baseline_image": self.residual.enabled,
                "time_basis": self.basis.k > 0, "latent_texture": self.latent.channels > 0,
                "detail_plane": self.detail.channels > 0, "knot_residual": self.knot_residual.downsample > 0,
                "mlp_uint8": self.mlp.weights == "uint8", "sun_window": self.sun.k > 0}
        return [name for name in MODEL_FEATURES if used[name]]

    @property
    def grid_features(self) -> int:
        """Grid levels' features, then the latent texture's (level-major)."""
        return len(self.grid.resolutions) * self.grid.channels + self.latent.channels

    @property
    def mlp_inputs(self) -> int:
        return self.grid_features + (0 if self.basis.k else self.time_features)

    @property
    def mlp_outputs(self) -> int:
        """3 colours, or 3 x k basis coefficients (index = colour * k + basis), then with a sun
        window 3 x sun.k sun coefficients and the window's two ends."""
        if not self.basis.k:
            return 3
        return 3 * self.basis.k + (3 * self.sun.k + 2 if self.sun.k else 0)


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


GRID_REFERENCE = 256  # texels of long side that GridConfig.resolutions refer to


def grid_shape(resolution: int, width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of a grid level: resolution x long_side / 256 cells along the long side,
    aspect kept, at most one cell per texel, at least 2 cells per axis (bilinear needs two)."""
    long_side = max(width, height)
    r = max(2, min(round(resolution * long_side / GRID_REFERENCE), long_side))
    cols = max(2, min(width, round(r * width / long_side)))
    rows = max(2, min(height, round(r * height / long_side)))
    return rows, cols


HASH_PRIME = 2654435761  # tiny-cuda-nn's second coordinate prime (the first is 1)


def level_table(level: int, grid: GridConfig, width: int, height: int) -> tuple[int, int, int]:
    """(rows, cols, hashed entries) of a grid level: hashed entries is 0 for a dense level
    (stored [rows, cols, C]), else the capacity M of its table (stored [M, C]); a level is hashed
    when it is among the finest hash_top_levels and its rows x cols cells exceed M."""
    rows, cols = grid_shape(grid.resolutions[level], width, height)
    top = level >= len(grid.resolutions) - grid.hash_top_levels
    return rows, cols, grid.hash_capacity if top and rows * cols > grid.hash_capacity else 0


def hash_index(cy, cx, entries: int):
    """Table entry of lattice cell (cy, cx): (cx * 1 XOR cy * 2654435761) mod M, with M a power
    of two (the 32-bit wrap of the product does not change the low bits kept)."""
    return (cx ^ (cy * HASH_PRIME)) & (entries - 1)


def baseline_shape(downsample: int, width: int, height: int) -> tuple[int, int]:
    return max(2, -(-height // downsample)), max(2, -(-width // downsample))
