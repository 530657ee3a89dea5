"""Run with NUMBA_ENABLE_CUDASIM=1 (tests/test_parity.py does): the CUDA kernels against the
numpy reference on small random models (made without torch), whole frames and random samples."""

import numpy as np
from numba import config

from model_fixtures import VARIANTS, decoders, lightmap_for, variant_config
from todlm.bench.random_model import numpy_artifact
from todlm.decoder import cuda_kernels as kernels
from todlm.decoder.reference import decode_frame_reference, parity_bound, sample_reference

assert config.ENABLE_CUDASIM, "set NUMBA_ENABLE_CUDASIM=1"
w, h = 7, 5


def check(variant):
    lightmap = lightmap_for(w, h)
    blob = numpy_artifact(variant_config(variant), lightmap, seed=variant, store_mask=variant % 2 == 0)
    for decoder in decoders(blob, device="cuda"):
        for t in (5.9, 6.0, 13.37):  # the lamp switch and a time between knots (the CPU tests take every time)
            ref = decode_frame_reference(decoder.weights, t)
            got = decoder.decode_frame(t).copy_to_host()
            assert np.abs(got - ref).max() <= parity_bound(decoder, ref), (variant, t)
        rng = np.random.default_rng(variant)
        ys, xs, ts = rng.integers(0, h, 9), rng.integers(0, w, 9), rng.uniform(0, 24, 9)
        ref = sample_reference(decoder.weights, ys, xs, ts)
        got = decoder.sample(ys, xs, ts).copy_to_host()
        assert np.abs(got - ref).max() <= parity_bound(decoder, ref), (variant, "sample")


for variant in range(len(VARIANTS)):
    check(variant)
# MLPs whose weights exceed the shared-memory stage (the presets' 84- and 88-wide MLPs do) read
# them from global memory: the same variants with the stage shrunk below their weights
kernels.MAX_WEIGHTS = 8
for variant in (0, 5, 14):
    check(variant)
kernels.MAX_WEIGHTS = 12288
# the trainer's presets open on the CUDA backend and decode like the reference (their MLPs exceed
# the shared-memory stage)
from todlm.decoder.api import Decoder  # noqa: E402
from todlm.trainer.run_config import preset  # noqa: E402

for name in ("fast", "default", "max"):
    blob = numpy_artifact(preset(name).model, lightmap_for(6, 4))
    decoder = Decoder.open(blob, device="cuda")
    ref = decode_frame_reference(decoder.weights, 13.5)
    assert np.abs(decoder.decode_frame(13.5).copy_to_host() - ref).max() <= parity_bound(decoder, ref), name
print("cuda parity ok")
