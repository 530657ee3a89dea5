"""Random GridMLP models in numpy, written through the decoder's own record writer: for decoder
tests and device checks, which need a model of a given shape but no training and no torch."""

import tempfile
from pathlib import Path

import numpy as np

from todlm.decoder.knot_cache import KnotPlanes
from todlm.decoder.weights import GridMLPArrays, gridmlp_record
from todlm.format.container_writer import LightmapRecord, Tensor, write_container
from todlm.format.lightmap_set import LightmapSet
from todlm.format.model_config import ModelConfig, baseline_shape, level_table
from todlm.format.quant import AffineQuant


def random_arrays(config: ModelConfig, width: int, height: int, seed: int = 0) -> GridMLPArrays:
    """A model's values drawn at random, in numpy (the ranges a trained model's take), so decoder
    tests need no torch."""
    rng = np.random.default_rng(seed)

    def uniform(shape, lo=-0.8, hi=0.8):
        return rng.uniform(lo, hi, shape).astype(np.float32)

    grids = []
    for i in range(len(config.grid.resolutions)):
        rows, cols, entries = level_table(i, config.grid, width, height)
        grids.append(uniform(((entries,) if entries else (rows, cols)) + (config.grid.channels,)))
    sizes = [config.mlp_inputs] + [config.mlp.hidden] * config.mlp.layers + [config.mlp_outputs]
    arrays = GridMLPArrays(grids, [uniform((b, a)) for a, b in zip(sizes[:-1], sizes[1:])],
                           [uniform((b,)) for b in sizes[1:]])
    if config.residual.enabled:
        arrays.baseline = uniform((*baseline_shape(config.residual.downsample, width, height), 3), 0.0, 1.0)
    if config.latent.channels:
        arrays.latent = uniform((*baseline_shape(config.latent.downsample, width, height), config.latent.channels),
                                0.0, 1.0)
    if config.basis.k:
        arrays.time_weight = uniform((config.basis.k, config.time_features))
        arrays.time_bias = uniform((config.basis.k,))
    if config.sun.k:
        arrays.sun_weight = uniform((config.sun.k, config.time_features))
        arrays.sun_bias = uniform((config.sun.k,))
    j, bits = config.detail.channels, config.detail.bits
    if j:
        q = AffineQuant(bits, 2, np.full(j, 0.2 / (1 << bits), np.float32), np.full(j, 1 << (bits - 1), np.int64))
        codes = rng.integers(0, 1 << bits, (height, width, j)).astype(np.uint8)
        arrays.detail = Tensor(codes, quant=q.to_json(), dtype=q.storage_dtype)
        arrays.detail_colour = uniform((3, j))
    if config.knot_residual.downsample:
        pairs = KnotPlanes(config).pairs()
        shape = (len(pairs), *baseline_shape(config.knot_residual.downsample, width, height), 3)
        arrays.knot_residual = uniform(shape, -0.3, 0.3)
        arrays.knot_residual_planes = pairs.tolist()
    return arrays


def numpy_record(config: ModelConfig, lightmap: LightmapSet, seed: int = 0, store_mask: bool = True) -> LightmapRecord:
    return gridmlp_record(config, random_arrays(config, lightmap.width, lightmap.height, seed), lightmap.level,
                          lightmap.id, lightmap.width, lightmap.height, list(lightmap.times),
                          lightmap.masks.any(axis=0) if store_mask else None, {}, name=lightmap.name)


def numpy_artifact(config: ModelConfig, lightmap: LightmapSet, seed: int = 0, store_mask: bool = True) -> bytes:
    """The bytes of a .tlm holding a random model of `config`, made without torch."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_container(Path(tmp) / "m.tlm", [numpy_record(config, lightmap, seed, store_mask)]).read_bytes()
