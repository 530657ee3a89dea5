"""Knot planes: the cached coefficient planes folded through the time layer, once, at open.

With the hat time encoding a frame's basis weights are b(t) = W f(t) + bias, where f(t) has two
non-zero hat weights that sum to 1, plus the lamp bit. So the value-domain frame
base + sum_j b_j(t) a_j equals the blend of two knot planes, each with the base, the bias and
(by night) the lamp folded in: a knot whose support spans both lamp states gets a day plane and
a night plane. A frame then reads 2 planes per channel instead of k + 1, which brings decoding
near the cost of writing the frame once."""

import numpy as np

from todlm.format.model_config import ModelConfig

from .time_features import time_features

ROWS_PER_CHUNK = 64  # bounds the float64 temporaries while folding
SAMPLES_PER_KNOT = 64  # time samples per knot spacing that find the lamp states a knot's support spans


def plane_index(config: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """[knots] plane of each knot by day and by night (-1: the knot never has weight then)."""
    knots = config.time.knots
    ts = np.concatenate([np.arange(knots * SAMPLES_PER_KNOT) * (24.0 / (knots * SAMPLES_PER_KNOT)), [6.0, 18.0]])
    f = time_features(ts, config.time)
    used = f[:, :knots] > 0
    night = f[:, knots] > 0 if config.time.lamp_state else np.zeros(ts.size, bool)
    by_day, by_night = used[~night].any(axis=0), used[night].any(axis=0)
    day_index, night_index = np.full(knots, -1), np.full(knots, -1)
    day_index[by_day] = np.arange(by_day.sum())
    night_index[by_night] = by_day.sum() + np.arange(by_night.sum())
    return day_index, night_index


def knot_planes(coefficients: np.ndarray, time_weight: np.ndarray, time_bias: np.ndarray,
                config: ModelConfig) -> np.ndarray:
    """coefficients: [3, k + 1, H, W] (basis_planes_cpu's layout, plane k the base) ->
    [3, planes, H, W] float32, planes as plane_index numbers them."""
    _, _, height, width = coefficients.shape
    knots = config.time.knots
    w = time_weight.astype(np.float64)  # [k, knots (+ lamp)]
    lamp = w[:, knots] if config.time.lamp_state else np.zeros(w.shape[0])
    day_index, night_index = plane_index(config)
    fold = np.zeros((w.shape[0] + 1, int(max(day_index.max(), night_index.max())) + 1))  # [k + 1, planes]
    for i in range(knots):
        column = np.append(w[:, i] + time_bias.astype(np.float64), 1.0)
        if day_index[i] >= 0:
            fold[:, day_index[i]] = column
        if night_index[i] >= 0:
            fold[:, night_index[i]] = column + np.append(lamp, 0.0)
    out = np.empty((3, fold.shape[1], height, width), np.float32)
    for c in range(3):
        for y in range(0, height, ROWS_PER_CHUNK):
            block = coefficients[c, :, y:y + ROWS_PER_CHUNK].astype(np.float64)
            out[c, :, y:y + ROWS_PER_CHUNK] = np.tensordot(fold, block, axes=(0, 0))
    return out


def knot_weights(ts, config: ModelConfig) -> np.ndarray:
    """[N, planes] float32: each time's two hat weights, on its lamp state's planes."""
    knots = config.time.knots
    f = time_features(np.asarray(ts, np.float64).reshape(-1), config.time)
    day_index, night_index = plane_index(config)
    night = f[:, knots] > 0 if config.time.lamp_state else np.zeros(f.shape[0], bool)
    index = np.where(night[:, None], night_index[None, :], day_index[None, :])
    out = np.zeros((f.shape[0], int(max(day_index.max(), night_index.max())) + 1), np.float32)
    rows, cols = np.nonzero(f[:, :knots] > 0)
    out[rows, index[rows, cols]] = f[rows, cols]
    return out


def coefficient_weights(basis_weights: np.ndarray) -> np.ndarray:
    """[N, k + 1]: b(t), then 1 for the base plane (the coefficient cache's plane weights)."""
    return np.hstack([basis_weights, np.ones((basis_weights.shape[0], 1), np.float32)]).astype(np.float32)
