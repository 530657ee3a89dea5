"""The in-between methods of bench/unseen_bounds.py on cases with a known answer."""

import numpy as np

from todlm.bench.unseen_bounds import catmull_rom, edge_morph, oracle_blend


def edge_frame(edge: int) -> np.ndarray:
    """A 16x32 frame lit (1.0) right of column `edge`, in shadow (0.01) left of it."""
    f = np.full((16, 32, 3), 0.01)
    f[:, edge:] = 1.0
    return f


def test_edge_morph_moves_a_shadow_edge_halfway():
    mask = np.ones((16, 32), bool)
    got = edge_morph(edge_frame(10), edge_frame(20), mask, 0.5, soft=1.0)
    assert np.abs(got - edge_frame(15)).max() < 0.6  # at most one column half lit
    assert np.abs(got - edge_frame(15)).mean() < 0.02
    crossfade = 0.5 * edge_frame(10) + 0.5 * edge_frame(20)
    assert np.abs(crossfade - edge_frame(15)).mean() > 0.1


def test_oracle_blend_recovers_a_per_texel_switch():
    rng = np.random.default_rng(0)
    A, B = rng.random((8, 8, 3)), rng.random((8, 8, 3)) + 1.0
    g = rng.random((8, 8, 1))
    truth = (1 - g) * A + g * B
    assert np.allclose(oracle_blend(A, B, truth, 1), truth)
    assert not np.allclose(oracle_blend(A, B, truth, 4), truth)


def test_catmull_rom_keeps_a_linear_ramp():
    times = np.arange(8.0, 16.0)
    frames = times[:, None, None, None] * np.ones((1, 2, 2, 3))
    assert np.allclose(catmull_rom(frames, times, 11.25), 11.25)
