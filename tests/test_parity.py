"""The model's math lives once in the trainer and once in the decoder: the trainer's torch
forward and the numpy reference agree on random models and times, and export stores what the
trainer trained (test_decoder_kernels.py holds the kernels to the reference)."""

import numpy as np
import pytest
import torch

from model_fixtures import VARIANTS, lightmap_for, variant_config
from torch_models import artifact, random_model
from todlm.decoder.api import Decoder
from todlm.decoder.reference import decode_frame_reference
from todlm.trainer import value_transform
from todlm.trainer.from_artifact import model_from_weights

TIMES = [0.0, 5.9, 6.0, 12.25, 18.0, 18.1, 23.99, 24.0]


def torch_frame(model, t: float, mask) -> np.ndarray:
    with torch.no_grad():
        frame = value_transform.inverse(model.frame(t), model.config.value).numpy()
    return frame * (mask[..., None] if mask is not None else 1.0)


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_torch_forward_and_numpy_reference_agree(variant):
    w, h = 23, 17
    lightmap = lightmap_for(w, h)
    blob = artifact(random_model(variant_config(variant), w, h, seed=variant), lightmap, store_mask=variant % 2 == 0)
    weights = Decoder.open(blob).weights
    torch_model = model_from_weights(weights)
    for t in TIMES + list(np.random.default_rng(variant).uniform(0, 24, 3)):
        ref = decode_frame_reference(weights, t)
        assert np.abs(torch_frame(torch_model, t, weights.mask) - ref).max() <= 1e-4 * max(float(ref.max()), 1e-3)


def test_float_model_and_artifact_differ_by_at_most_the_quantisation_bound():
    """Grids and baseline are the only rounded tensors (fp32 MLP): ReLU is 1-Lipschitz, so the
    value-domain error is at most the product of the layers' inf-norms times the worst feature
    rounding, plus the baseline's rounding."""
    w, h = 31, 19
    config = variant_config(3)
    config.grid.bits = 8
    model = random_model(config, w, h, seed=3)
    decoder = Decoder.open(artifact(model, lightmap_for(w, h), store_mask=False))
    quant = decoder.weights
    feature_err = max(float(np.max(np.abs(g - mg.values.detach().numpy())))
                      for g, mg in zip(quant.grids, model.grids))
    gain = np.prod([np.abs(layer.weight.detach().numpy()).sum(axis=1).max() for layer in model.layers])
    bound = gain * feature_err + 1e-5
    quantised_model = model_from_weights(quant)
    for t in (1.0, 12.5, 20.0):
        with torch.no_grad():
            diff = (model.frame(t) - quantised_model.frame(t)).abs().max().item()
        assert 0 < diff <= bound


@pytest.mark.parametrize("variant", [10, 11])
def test_the_latent_texture_is_stored_as_the_encoder_made_it(variant):
    """The BaselineEncoder's CNN output is what the artifact holds, to within half a quantisation
    step per channel; the decoders read it as the last levels of features."""
    w, h = 23, 17
    config = variant_config(variant)
    model = random_model(config, w, h, seed=variant)
    decoder = Decoder.open(artifact(model, lightmap_for(w, h)))
    with torch.no_grad():
        made = model.latent.values.numpy()
    assert made.std(axis=(0, 1)).min() > 0  # a spatially varying texture, not the biases alone
    stored = decoder.weights.latent
    assert stored.shape == made.shape == (-(-h // config.latent.downsample), -(-w // config.latent.downsample),
                                          config.latent.channels)
    lo, hi = np.minimum(made.min(axis=(0, 1)), 0), np.maximum(made.max(axis=(0, 1)), 0)
    half_step = 0.5 * (hi - lo) / ((1 << config.latent.bits) - 2)
    assert np.all(np.abs(stored - made) <= half_step * 1.001 + 1e-7)
    levels = decoder.weights.feature_levels()
    assert len(levels) == len(config.grid.resolutions) + config.latent.channels // config.grid.channels


@pytest.mark.parametrize("variant", [14, 15, 16])
def test_the_detail_plane_is_stored_as_trained(variant):
    """The artifact holds exactly the values the trainer sampled (the plane trains through its
    own quantiser), packed at `bits` per value."""
    w, h = 23, 17
    config = variant_config(variant)
    model = random_model(config, w, h, seed=variant)
    blob = artifact(model, lightmap_for(w, h))
    decoder = Decoder.open(blob)
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    with torch.no_grad():
        trained = model.detail(torch.from_numpy(ys.reshape(-1)), torch.from_numpy(xs.reshape(-1))).numpy()
    j = config.detail.channels
    np.testing.assert_array_equal(decoder.weights.detail.reshape(-1, j), trained)
    assert len(np.unique(trained)) <= j << config.detail.bits and trained.std(axis=0).min() > 0
    from todlm.format.container import Container

    with Container.open(blob) as c:
        section = c.lightmaps[0].sections["detail"]
    assert section.dtype == f"uint{config.detail.bits}"


def test_8bit_mlp_weights_are_stored_as_the_fine_tune_saw_them():
    """With mlp.weights "uint8" the fine-tune's fake quantisation (grids and layer weights) is
    exactly what export stores: the model under it and the decoded artifact agree, and each layer
    takes one byte per weight with a scale per output row."""
    w, h = 23, 17
    config = variant_config(19)
    model = random_model(config, w, h, seed=19)
    with torch.no_grad():  # the tensors export keeps in fp16, made exact in fp16
        for p in [layer.bias for layer in model.layers] + [*model.time_layer.parameters(), model.detail.colour]:
            p.copy_(p.half().float())
    blob = artifact(model, lightmap_for(w, h), store_mask=False)
    decoder = Decoder.open(blob)
    model.set_fake_quant(True)
    for t in TIMES:
        ref = decode_frame_reference(decoder.weights, t)
        assert np.abs(torch_frame(model, t, None) - ref).max() <= 1e-4 * max(float(ref.max()), 1e-3)
    model.set_fake_quant(False)
    assert np.abs(torch_frame(model, 12.5, None) - decode_frame_reference(decoder.weights, 12.5)).max() > 1e-3
    from todlm.format.container import Container

    with Container.open(blob) as c:
        for i, layer in enumerate(model.layers):
            section = c.lightmaps[0].sections[f"mlp{i}.weight"]
            assert section.dtype == "uint8" and section.quant.axis == 0
            assert section.quant.scale.shape == (layer.weight.shape[0],)
