"""One function, three implementations: the numpy reference, the numba CPU kernels (every
cache) and the numba.cuda kernels (CUDA simulator) agree on random models of every variant,
made without torch."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import torch_blocked_env
from model_fixtures import VARIANTS, decoders, lightmap_for, variant_config
from todlm.bench.random_model import numpy_artifact
from todlm.decoder.api import Decoder
from todlm.decoder.reference import decode_frame_reference, parity_bound, sample_reference

TIMES = [0.0, 5.9, 6.0, 12.25, 18.0, 18.1, 23.99, 24.0]


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_cpu_kernels_agree_with_the_reference(variant):
    w, h = 23, 17
    blob = numpy_artifact(variant_config(variant), lightmap_for(w, h), seed=variant, store_mask=variant % 2 == 0)
    for decoder in decoders(blob):
        rng = np.random.default_rng(variant)
        for t in TIMES + list(rng.uniform(0, 24, 3)):
            ref = decode_frame_reference(decoder.weights, t)
            assert np.abs(decoder.decode_frame(t) - ref).max() <= parity_bound(decoder, ref)
        ys, xs, ts = rng.integers(0, h, 500), rng.integers(0, w, 500), rng.uniform(0, 24, 500)
        ref = sample_reference(decoder.weights, ys, xs, ts)
        assert np.abs(decoder.sample(ys, xs, ts) - ref).max() <= parity_bound(decoder, ref)


def test_hat_basis_models_decode_every_frame_from_two_knot_planes():
    w, h = 11, 7
    decoder = Decoder.open(numpy_artifact(variant_config(5), lightmap_for(w, h)))
    # 24 knots: 6..18 have a day plane, 18..23 and 0..6 a night plane (the lamp folded in)
    assert decoder.cache == "knots" and decoder.backend.planes.shape == (3, 26, h, w)
    weights = decoder._weights(TIMES + [3.25, 12.5])
    assert all(1 <= np.count_nonzero(row) <= 2 for row in weights)
    np.testing.assert_allclose((weights / decoder.knots.plane_scale).sum(axis=1), 1.0, rtol=1e-6)
    assert decoder.backend.planes.dtype == np.int16 and np.abs(decoder.backend.planes).max() == 32767


def test_masked_texels_decode_to_zero_and_out_buffer_is_used():
    w, h = 9, 6
    lightmap = lightmap_for(w, h)
    decoder = Decoder.open(numpy_artifact(variant_config(0), lightmap))
    out = np.full((h, w, 3), np.nan, np.float32)
    assert decoder.decode_frame(3.0, out=out) is out
    union = lightmap.masks.any(axis=0)
    assert np.all(out[~union] == 0) and np.all(np.isfinite(out))
    with pytest.raises(ValueError):
        decoder.decode_frame(3.0, out=np.empty((h, w, 4), np.float32))


def test_cuda_kernels_match_cpu_in_the_simulator(tmp_path):
    """In a process where torch cannot be imported, as a shipped decoder runs."""
    script = Path(__file__).with_name("cuda_parity_check.py")
    env = torch_blocked_env(tmp_path, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600,
                          cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cuda parity ok" in done.stdout


def test_the_hashed_variants_really_hash():
    from todlm.format.model_config import level_table

    for variant, (w, h) in ((8, (23, 17)), (9, (23, 17)), (9, (7, 5))):
        grid = variant_config(variant).grid
        assert level_table(len(grid.resolutions) - 1, grid, w, h)[2] > 0
