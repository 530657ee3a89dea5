"""The NDGI bench method: its BC7 simulation is BC7 mode 6 with a straight-through gradient, the
blocks it ships decode (by an independent BC7 decoder) to exactly what training simulated, and
its size counts every byte it ships."""

import numpy as np
import torch

from conftest import tiny_set
from todlm.bench.ndgi_recipe import SIZES, bc7_simulated, model_class, ndgi_recipe, ship_bc7


def smooth_map(rows=16, cols=24, ch=8, seed=0, independent=False):
    """Smooth channels: affine in one shared signal (what a block's one segment holds), or each
    its own wave (what it cannot)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols] / 8.0
    if independent:
        phases = rng.uniform(0, 6, (ch, 2))
        return np.stack([0.5 + 0.4 * np.sin(x * a + y * b) for a, b in phases], -1).astype(np.float32)
    shared = np.sin(x * 1.3 + y * 0.7)
    return np.stack([0.5 + rng.uniform(-0.4, 0.4) * shared for _ in range(ch)], -1).astype(np.float32)


def test_bc7_simulation_stores_a_segment_per_block_with_a_straight_through_gradient():
    flat = torch.full((8, 8, 4), 0.3, requires_grad=True)
    out = bc7_simulated(flat)
    assert torch.allclose(out, torch.round(torch.tensor(0.3) * 255) / 255 * torch.ones_like(out))
    out.sum().backward()
    assert torch.equal(flat.grad, torch.ones_like(flat))
    values = torch.from_numpy(smooth_map())
    stored = bc7_simulated(values)
    assert 0 < (stored - values).abs().max() < 0.05  # 16 levels on a 4x4 block's segment
    independent = torch.from_numpy(smooth_map(independent=True))
    assert (bc7_simulated(independent) - independent).abs().mean() > 2 * (stored - values).abs().mean()
    assert torch.equal(bc7_simulated(values, enabled=False), values)


def test_shipped_blocks_decode_to_exactly_what_training_simulated():
    model = model_class()(SIZES["L"], 22, 13)
    with torch.no_grad():
        model.uv.copy_(torch.from_numpy(smooth_map(*model.uv.shape, seed=1, independent=True)))
    simulated = {name: bc7_simulated(values.detach().clamp(0, 1)) for name, values in model.maps().items()}
    ship_bc7(model)  # BC7 blocks, decoded by texture2ddecoder
    for name, values in model.maps().items():
        assert torch.allclose(values, simulated[name], atol=1e-6), name


def test_the_method_counts_every_byte_it_ships():
    lm = tiny_set(h=12, w=20)
    outcome = ndgi_recipe(lm, "L", unseen_times=[7.5], steps=4)
    size = SIZES["L"]
    rows, cols = -(-12 // size.uv_downsample), -(-20 // size.uv_downsample)
    v_rows, v_cols = -(-12 // size.volume_downsample), -(-20 // size.volume_downsample)
    blocks = {"uv": (rows, cols, size.uv_channels), "ut": (size.t_cells, cols, size.t_channels),
              "vt": (size.t_cells, rows, size.t_channels),
              "volume": (size.volume_cells * v_rows, v_cols, size.volume_channels)}
    bc7 = sum(-(-r // 4) * -(-c // 4) * 16 * (ch // 4) for r, c, ch in blocks.values())
    n_in = size.uv_channels + 2 * size.t_channels + size.volume_channels + 2 * size.frequencies
    mlp = 2 * (n_in * size.hidden + size.hidden + size.hidden * size.hidden + size.hidden + size.hidden * 3 + 3)
    assert outcome.stored_bytes == bc7 + mlp
    assert outcome.frames.shape == lm.frames.shape and np.isfinite(outcome.frames).all()
    assert outcome.unseen.shape == (1, 12, 20, 3) and outcome.config["ndgi"]["size"] == "L"
