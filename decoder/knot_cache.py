"""Knot planes: the cached coefficient planes folded through the time layer, once, at open.

With the hat time encoding a frame's basis weights are b(t) = W f(t) + bias, where f(t) has two
non-zero hat weights that sum to 1 (plus the lamp bit). So the value-domain frame
base + sum_j b_j(t) a_j equals sum_i f_i(t) Q_i with one plane Q_i per hat knot (the base and
the bias folded into each) and one for the lamp: a frame reads 2 planes per channel by day and 3
by night instead of k + 1, which brings decoding near the cost of writing the frame once."""

import numpy as np

from todlm.format.model_config import ModelConfig

from .time_features import time_features

ROWS_PER_CHUNK = 64  # bounds the float64 temporaries while folding


def knot_planes(coefficients: np.ndarray, time_weight: np.ndarray, time_bias: np.ndarray,
                config: ModelConfig) -> np.ndarray:
    """coefficients: [3, k + 1, H, W] (basis_planes_cpu's layout, plane k the base) ->
    [3, knots (+ 1 lamp), H, W] float32."""
    _, k1, height, width = coefficients.shape
    knots = config.time.knots
    w = time_weight.astype(np.float64)  # [k, knots (+ lamp)]
    hat = np.vstack([w[:, :knots] + time_bias.astype(np.float64)[:, None], np.ones((1, knots))])
    fold = np.hstack([hat, np.vstack([w[:, knots:], np.zeros((1, w.shape[1] - knots))])])  # [k + 1, planes]
    out = np.empty((3, fold.shape[1], height, width), np.float32)
    for c in range(3):
        for y in range(0, height, ROWS_PER_CHUNK):
            block = coefficients[c, :, y:y + ROWS_PER_CHUNK].astype(np.float64)
            out[c, :, y:y + ROWS_PER_CHUNK] = np.tensordot(fold, block, axes=(0, 0))
    return out


def knot_weights(ts, config: ModelConfig) -> np.ndarray:
    """[N, planes] float32: the hat weights and the lamp bit, which multiply the knot planes."""
    return time_features(np.asarray(ts, np.float64).reshape(-1), config.time).astype(np.float32)


def coefficient_weights(basis_weights: np.ndarray) -> np.ndarray:
    """[N, k + 1]: b(t), then 1 for the base plane (the coefficient cache's plane weights)."""
    return np.hstack([basis_weights, np.ones((basis_weights.shape[0], 1), np.float32)]).astype(np.float32)

