"""Knot planes: the cached coefficient planes folded through the time layer, once, at open.

With the hat time encoding a frame's basis weights are b(t) = W f(t) + bias, where f(t) has two
non-zero hat weights that sum to 1, plus the lamp bit. So the value-domain frame
base + sum_j b_j(t) a_j equals the blend of two knot planes, each with the base, the bias and
(by night) the lamp folded in: a knot whose support spans both lamp states gets a day plane and
a night plane. A frame then reads 2 planes per channel instead of k + 1, which brings decoding
near the cost of writing the frame once. The planes are kept as int16 with one scale per plane,
folded into the plane weights: half the bytes to read (and hold) of float32, and a frame is a
convex blend of planes, so the error stays under 1/65534 of the largest value (x 2 or x 4
through the gamma inverse: ~3e-5 of the peak, far under the stored model's own error).

A sun window's term d(t) . e is linear in the same two hat weights, so its coefficients fold the
same way into a second set of planes (after the first), which a frame blends apart and weighs by
each texel's gate."""

import numpy as np

from todlm.format.model_config import ModelConfig

from .time_features import hat_and_lamp
from .upsample import upsample_rows

ROWS_PER_CHUNK = 64  # bounds the temporaries while folding
SAMPLES_PER_KNOT = 64  # time samples per knot spacing that find the lamp states a knot's support spans
PLANE_MAX = 32767  # int16 planes: each plane's largest magnitude maps to this


class KnotPlanes:
    """Which plane holds each knot by day and by night (-1: the knot never has weight then)."""

    def __init__(self, config: ModelConfig):
        self.config = config
        knots = config.time.knots
        ts = np.concatenate([np.arange(knots * SAMPLES_PER_KNOT) * (24.0 / (knots * SAMPLES_PER_KNOT)), [6.0, 18.0]])
        hat, night = hat_and_lamp(ts, self.config.time)
        by_day, by_night = (hat[~night] > 0).any(axis=0), (hat[night] > 0).any(axis=0)
        self.day_index, self.night_index = np.full(knots, -1), np.full(knots, -1)
        self.day_index[by_day] = np.arange(by_day.sum())
        self.night_index[by_night] = by_day.sum() + np.arange(by_night.sum())
        self.count = int(by_day.sum() + by_night.sum())  # planes per set (the basis's; the sun's the same)
        self.sets = 2 if config.sun.k else 1
        self.plane_scale = np.ones(self.count * self.sets, np.float32)  # value of one int16 step, set by fold

    def pairs(self) -> np.ndarray:
        """[count, 2] int64: each plane's (lamp state, knot), in plane order (the order of a knot
        residual's images, MODEL.md)."""
        out = np.empty((self.count, 2), np.int64)
        for lamp, index in ((0, self.day_index), (1, self.night_index)):
            for knot in np.nonzero(index >= 0)[0]:
                out[index[knot]] = (lamp, knot)
        return out

    def plane_of(self, lamp: int, knot: int) -> int:
        """The plane holding knot `knot` in lamp state `lamp` (1: lamps on), or -1."""
        return int((self.night_index if lamp else self.day_index)[knot])

    def fold(self, coefficients: np.ndarray, time_weight: np.ndarray, time_bias: np.ndarray,
             residual: tuple[np.ndarray, np.ndarray] | None = None,
             sun: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """coefficients: [3, k + 1 (+ sun.k), H, W] (basis_planes_cpu's layout, plane k the base,
        then the sun coefficients) -> [3, count x sets, H, W] int16, and self.plane_scale.
        residual: the knot residual's images [P, rows, cols, 3] and (lamp state, knot) pairs
        [P, 2], each upsampled into its plane; sun: the sun layer's weight and bias."""
        _, _, height, width = coefficients.shape
        k = time_weight.shape[0]
        fold = np.zeros((coefficients.shape[1], self.count * self.sets))  # [k + 1 (+ sun.k), planes]
        fold[:k + 1, :self.count] = self._knot_columns(time_weight, time_bias, base=True)
        if sun is not None:
            fold[k + 1:, self.count:] = self._knot_columns(*sun, base=False)
        peak = np.zeros(self.count * self.sets)
        for _, _, block in self._folded_blocks(fold, coefficients, residual):
            peak = np.maximum(peak, np.abs(block).max(axis=(1, 2), initial=0.0))
        self.plane_scale = np.where(peak > 0, peak / PLANE_MAX, 1.0).astype(np.float32)
        quantised = np.empty((3, self.count * self.sets, height, width), np.int16)
        step = self.plane_scale[:, None, None]
        for c, y, block in self._folded_blocks(fold, coefficients, residual):
            quantised[c, :, y:y + block.shape[1]] = np.clip(np.rint(block / step), -PLANE_MAX, PLANE_MAX)
        return quantised

    def _knot_columns(self, weight: np.ndarray, bias: np.ndarray, base: bool) -> np.ndarray:
        """[rows of weight (+ 1 for the base plane), count]: each plane's coefficient weights, the
        hat knot's column of the layer plus its bias (and, by night, its lamp column)."""
        knots = self.config.time.knots
        w = weight.astype(np.float64)  # [k, knots (+ lamp)]
        lamp = w[:, knots] if self.config.time.lamp_state else np.zeros(w.shape[0])
        extra = [1.0] if base else []
        fold = np.zeros((w.shape[0] + len(extra), self.count))
        for i in range(knots):
            column = np.append(w[:, i] + bias.astype(np.float64), extra)
            if self.day_index[i] >= 0:
                fold[:, self.day_index[i]] = column
            if self.night_index[i] >= 0:
                fold[:, self.night_index[i]] = column + np.append(lamp, [0.0] * len(extra))
        return fold

    def _folded_blocks(self, fold: np.ndarray, coefficients: np.ndarray, residual):
        """(channel, first row, [count, rows, W] float32) over row chunks: the folded planes are
        computed twice (peaks, then int16 values) rather than held whole as floats."""
        fold = fold.astype(np.float32)  # float32 sums of k + 1 terms err ~1e-7, far under an int16 step
        _, _, height, width = coefficients.shape
        images = [] if residual is None else [(self.plane_of(lamp, knot), image)
                                              for image, (lamp, knot) in zip(residual[0], residual[1])]
        for y in range(0, height, ROWS_PER_CHUNK):
            stop = min(height, y + ROWS_PER_CHUNK)
            added = [(p, upsample_rows(image, y, stop, height, width)) for p, image in images if p >= 0]
            for c in range(coefficients.shape[0]):
                block = np.tensordot(fold, coefficients[c, :, y:stop], axes=(0, 0))
                for p, values in added:
                    block[p] += values[..., c]
                yield c, y, block

    def weights(self, ts) -> np.ndarray:
        """[N, count x sets] float32: each time's (one or two) hat weights, on its lamp state's
        planes (of each set), times the planes' int16 steps."""
        hat, night = hat_and_lamp(ts, self.config.time)
        index = np.where(night[:, None], self.night_index[None, :], self.day_index[None, :])
        out = np.zeros((hat.shape[0], self.count), np.float32)
        rows, cols = np.nonzero(hat > 0)
        out[rows, index[rows, cols]] = hat[rows, cols]
        return np.tile(out, self.sets) * self.plane_scale


def coefficient_weights(basis_weights: np.ndarray, sun_weights: np.ndarray | None = None) -> np.ndarray:
    """[N, k + 1 (+ sun.k)]: b(t), then 1 for the base plane, then a sun window's d(t) (the
    coefficient cache's plane weights)."""
    parts = [basis_weights, np.ones((basis_weights.shape[0], 1), np.float32)]
    return np.hstack(parts + ([sun_weights] if sun_weights is not None else [])).astype(np.float32)
