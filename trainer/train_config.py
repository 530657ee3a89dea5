"""How a model is trained (stored in the artifact beside the model config)."""

from dataclasses import asdict, dataclass

from todlm.format.lightmap_set import LightmapSet, without_unlit


BALANCE = ("mean-square", "median", "none")  # per-time loss weight: 1 / the frame's mean square or median^2


def frame_balance(value: str | bool) -> str:
    """balance_frames by name; configs and stamps stored before it was a choice hold a bool."""
    if isinstance(value, bool):
        return "mean-square" if value else "none"
    return value


@dataclass
class TrainConfig:
    steps: int = 8000
    batch: int = 4096  # texels per step, each at every time (time basis) or at two adjacent times
    lr_grid: float = 0.1
    lr_hash: float = 0.2  # hash tables (shared by many cells: Instant-NGP trains them faster)
    hash_warmup: float = 0.0  # the first fraction of steps trains the hash tables alone, the rest frozen
    lr_baseline: float = 2e-3
    lr_mlp: float = 0.01
    lr_final: float = 0.05  # learning rates decay exponentially to this fraction
    linear_weight: float = 1.0  # weight of the linear, per-tile-peak normalised MSE
    tile_psnr: float = 0.0  # weight each (time, tile)'s linear error by 1 / its MSE^a (1: the judge's mean of dB)
    balance_frames: str = "mean-square"  # weight each time's value-domain MSE by 1 / a statistic of it (BALANCE)
    ssim_weight: float = 0.0  # weight of 1 - the judge's SSIM on one random patch per step (trainer/ssim_loss.py)
    ssim_patch: int = 64  # that patch's side in texels
    temporal: bool = True
    temporal_weight: tuple[float, float] = (0.5, 2.0)  # warmed up linearly over training
    temporal_norm: str = "l2"  # "l2": squared error of the frame differences; "l1": the seed's absolute error
    quant_percentile: float | None = None  # PTQ range: min/max, or [100-p, p] percentiles
    qat_fraction: float = 0.0  # the last fraction of steps samples grids through fake quantisation
    quant_finetune: int = 0  # steps after `steps` that train all but the grids against the quantised grids
    knot_residual_flip: float = 0.0  # fit a configured knot residual only if the export's mean HDR-FLIP exceeds this
    mask_unlit: bool = False  # texels 0 at every training time leave the loss and the stored mask (decode to 0)
    seed: int = 0
    checkpoint_every: int = 250
    threads: int = 0  # torch CPU threads (0: torch's default); float sums depend on it, so a run that fixes it
    # writes the same file wherever it trains (one process, or Ray workers of `threads` each)
    group: int = 1  # lightmaps of one size and time count trained together as one stacked model (loop.train_group):
    # a GPU step's cost is mostly launches, which a group shares; on a CPU a group is no faster

    def __post_init__(self):
        self.balance_frames = frame_balance(self.balance_frames)
        if self.balance_frames not in BALANCE:
            raise ValueError(f"balance_frames {self.balance_frames!r}: use one of {', '.join(BALANCE)}")
        if self.temporal_norm not in ("l1", "l2"):
            raise ValueError(f"temporal_norm {self.temporal_norm!r}: use l1 or l2")
        if self.threads < 0:
            raise ValueError("train.threads must be 0 (torch's default) or more")
        for name in ("steps", "batch", "checkpoint_every", "group"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be at least 1")
        if self.ssim_patch < 7:
            raise ValueError("train.ssim_patch must be at least 7 (the SSIM window)")
        for name in ("hash_warmup", "qat_fraction", "tile_psnr"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"train.{name} must be in [0, 1]")
        for name in ("lr_grid", "lr_hash", "lr_baseline", "lr_mlp", "lr_final"):
            if not getattr(self, name) > 0:
                raise ValueError(f"train.{name} must be positive")
        for name in ("linear_weight", "ssim_weight", "quant_finetune", "knot_residual_flip"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must not be negative")
        if len(self.temporal_weight) != 2 or min(self.temporal_weight) < 0:
            raise ValueError("train.temporal_weight is [start, end], neither negative")
        if self.quant_percentile is not None and not 50.0 < self.quant_percentile <= 100.0:
            raise ValueError("train.quant_percentile must be in (50, 100] or null")

    @property
    def total_steps(self) -> int:
        return self.steps + self.quant_finetune

    def to_json(self) -> dict:
        return asdict(self)


def training_view(lightmap: LightmapSet, train: TrainConfig) -> LightmapSet:
    """The lightmap as training and export see it: with `train.mask_unlit`, its texels that are
    0 at every time are out of the masks (format.lightmap_set.without_unlit)."""
    return without_unlit(lightmap) if train.mask_unlit else lightmap
