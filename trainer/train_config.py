"""How a model is trained (stored in the artifact beside the model config) and the presets."""

from dataclasses import asdict, dataclass, field, replace

from todlm.format.model_config import GridConfig, MLPConfig, ModelConfig


@dataclass
class TrainConfig:
    steps: int = 8000
    batch: int = 8192  # texels per step, each at two adjacent times
    lr_grid: float = 0.1
    lr_baseline: float = 2e-3
    lr_mlp: float = 0.02
    lr_final: float = 0.05  # learning rates decay exponentially to this fraction
    linear_weight: float = 1.0  # weight of the linear, per-tile-peak normalised MSE
    temporal: bool = True
    temporal_weight: tuple[float, float] = (0.05, 0.2)  # warmed up linearly over training
    quant_percentile: float | None = None  # PTQ range: min/max, or [100-p, p] percentiles
    qat_fraction: float = 0.0  # the last fraction of steps samples grids through fake quantisation
    seed: int = 0
    checkpoint_every: int = 250

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Preset:
    model: ModelConfig
    train: TrainConfig


def preset(name: str) -> Preset:
    """fast: the demo's model (minutes on 2 CPU cores); default: the same model trained longer;
    max: wider MLP and twice the grid channels, for quality over size."""
    if name == "fast":
        return Preset(ModelConfig(), TrainConfig(steps=1500))
    if name == "default":
        return Preset(ModelConfig(), TrainConfig(steps=8000))
    if name == "max":
        return Preset(ModelConfig(grid=GridConfig(channels=14), mlp=MLPConfig(hidden=64, layers=2)),
                      TrainConfig(steps=20000, batch=16384))
    raise ValueError(f"unknown preset {name!r} (fast, default, max)")


PRESETS = ("fast", "default", "max")


def with_overrides(p: Preset, **train_overrides) -> Preset:
    return Preset(p.model, replace(p.train, **{k: v for k, v in train_overrides.items() if v is not None}))
