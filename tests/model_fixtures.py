"""The model variants every decoder test decodes (as random models made in numpy by
todlm.bench.random_model, no torch; torch_models.py makes them as torch models), the lightmap
they are made for, and the decoders and error bound the tests compare."""

import numpy as np

from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import (BasisConfig, DetailConfig, GridConfig, KnotResidualConfig, LatentConfig,
                                       MLPConfig, ModelConfig, ResidualConfig, SunWindowConfig, TimeConfig,
                                       ValueConfig)

VARIANTS = [
    dict(time=TimeConfig("hat", knots=24), value=ValueConfig("gamma", scale=3.0), residual=ResidualConfig(True, 4)),
    dict(time=TimeConfig("fourier", frequencies=3), value=ValueConfig("log1p"), residual=ResidualConfig(False)),
    dict(time=TimeConfig("hat", knots=7, lamp_state=False), value=ValueConfig("mulaw", scale=2.0),
         mlp=MLPConfig(hidden=8, layers=1), residual=ResidualConfig(True, 1)),
    dict(time=TimeConfig("fourier", frequencies=2), value=ValueConfig("linear", scale=5.0),
         mlp=MLPConfig(hidden=6, layers=3, weights="float32"), grid=GridConfig([3, 5], channels=3, bits=16)),
    dict(mlp=MLPConfig(hidden=5, layers=0), grid=GridConfig([4], channels=2)),
    dict(basis=BasisConfig(k=4), value=ValueConfig("gamma", scale=2.0), residual=ResidualConfig(True, 2)),
    dict(basis=BasisConfig(k=3), time=TimeConfig("fourier", frequencies=2), value=ValueConfig("log1p"),
         mlp=MLPConfig(hidden=7, layers=1, weights="float32"), residual=ResidualConfig(False)),
    dict(basis=BasisConfig(k=2), time=TimeConfig("hat", knots=5), mlp=MLPConfig(hidden=4, layers=0),
         grid=GridConfig([4, 6], channels=3)),
    dict(grid=GridConfig([8, 64, 128], channels=3, hash_top_levels=2, hash_capacity=64),
         residual=ResidualConfig(True, 2)),
    dict(basis=BasisConfig(k=3), grid=GridConfig([16, 256], channels=2, hash_top_levels=1, hash_capacity=32)),
    dict(latent=LatentConfig(channels=4, downsample=4, hidden=4), grid=GridConfig([4, 8], channels=2),
         residual=ResidualConfig(True, 2)),
    dict(basis=BasisConfig(k=3), latent=LatentConfig(channels=6, downsample=8, bits=16, hidden=3),
         grid=GridConfig([8], channels=3), residual=ResidualConfig(False), value=ValueConfig("log1p")),
    dict(basis=BasisConfig(k=2), grid=GridConfig([4, 16], channels=3, bits=4), residual=ResidualConfig(True, 3),
         value=ValueConfig("gamma", gamma=4.0, scale=1.5)),
    dict(basis=BasisConfig(k=6), grid=GridConfig([4, 8], channels=3, bits=6), value=ValueConfig("gamma", gamma=2.0, scale=2.0),
         residual=ResidualConfig(True, 2)),
    dict(basis=BasisConfig(k=4), detail=DetailConfig(channels=1, bits=2), grid=GridConfig([4, 8], channels=3),
         value=ValueConfig("gamma", gamma=2.0, scale=2.0), residual=ResidualConfig(True, 2)),
    dict(basis=BasisConfig(k=3), detail=DetailConfig(channels=3, bits=1), time=TimeConfig("fourier", frequencies=2),
         mlp=MLPConfig(hidden=5, layers=1), residual=ResidualConfig(False), value=ValueConfig("log1p")),
    dict(basis=BasisConfig(k=2), detail=DetailConfig(channels=2, bits=5), grid=GridConfig([4], channels=2),
         latent=LatentConfig(channels=2, downsample=4, hidden=3), value=ValueConfig("gamma", gamma=4.0, scale=1.5)),
    dict(basis=BasisConfig(k=4), detail=DetailConfig(channels=1, bits=2), grid=GridConfig([4, 8], channels=3),
         value=ValueConfig("gamma", gamma=2.0, scale=2.0), residual=ResidualConfig(False),
         knot_residual=KnotResidualConfig(downsample=3)),
    dict(basis=BasisConfig(k=2), time=TimeConfig("hat", knots=5, lamp_state=False), grid=GridConfig([4], channels=2),
         residual=ResidualConfig(True, 2), knot_residual=KnotResidualConfig(downsample=2, bits=5),
         value=ValueConfig("log1p")),
    dict(basis=BasisConfig(k=4), detail=DetailConfig(channels=1, bits=4), grid=GridConfig([4, 8], channels=3),
         mlp=MLPConfig(hidden=6, layers=2, weights="uint8"), value=ValueConfig("gamma", gamma=2.0, scale=2.0),
         residual=ResidualConfig(False)),
    dict(basis=BasisConfig(k=4), sun=SunWindowConfig(k=2, width=1.5), detail=DetailConfig(channels=1, bits=2),
         grid=GridConfig([4, 8], channels=3), value=ValueConfig("gamma", gamma=2.0, scale=2.0),
         residual=ResidualConfig(False)),
    dict(basis=BasisConfig(k=3), sun=SunWindowConfig(k=3, width=0.3), time=TimeConfig("fourier", frequencies=2),
         mlp=MLPConfig(hidden=5, layers=1), residual=ResidualConfig(True, 2), value=ValueConfig("log1p")),
    dict(basis=BasisConfig(k=2), sun=SunWindowConfig(k=1, width=0.8), time=TimeConfig("hat", knots=5),
         grid=GridConfig([4], channels=2), residual=ResidualConfig(False),
         knot_residual=KnotResidualConfig(downsample=2), value=ValueConfig("gamma", gamma=2.0, scale=1.5)),
]


def lightmap_for(width: int, height: int, times=(0.0, 5.9, 6.0, 18.1)) -> LightmapSet:
    masks = np.ones((len(times), height, width), bool)
    masks[:, 1, :] = False
    masks[0, 2, 3] = False
    return LightmapSet(np.ones((len(times), height, width, 3), np.float32), np.array(times), masks,
                       level="L_Rand", id=7)


def decoders(blob: bytes, device: str = "cpu") -> list:
    """The artifact's decoders: one, or for basis models one per cache it allows (knot planes,
    coefficient planes, none)."""
    from todlm.decoder.api import Decoder

    first = Decoder.open(blob, device=device)
    others = {"knots": ("coefficients", "none"), "coefficients": ("none",), "none": ()}[first.cache]
    if first.weights.knot_residual is not None:  # the coefficient planes cannot hold it
        others = ("none",)
    return [first] + [Decoder.open(blob, device=device, cache=c) for c in others]


def variant_config(i: int) -> ModelConfig:
    return ModelConfig(**VARIANTS[i])
