"""Decoder: open a .tlm, decode a frame at any time, sample texels (y, x, t) — numpy/numba
only. Weights are dequantised once at open; every call after that runs one kernel."""

from pathlib import Path

import numpy as np

from todlm.format.container import Container, ContainerError
from todlm.format.times import check_time

from .knot_cache import KnotPlanes, coefficient_weights
from .kernel_model import KernelModel, kernel_mask, kernel_weights
from .weights import GridMLPWeights

DEVICES = ("cpu", "cuda")
CACHES = ("auto", "knots", "coefficients", "none")


def _resolve_cache(cache: str, weights: GridMLPWeights, where) -> str:
    if cache not in CACHES:
        raise ValueError(f"cache must be one of {CACHES}, not {cache!r}")
    hat = weights.config.time.encoding == "hat"
    if cache == "auto":
        return "none" if not weights.basis_k else "knots" if hat else "coefficients"
    if cache != "none" and not weights.basis_k:
        raise ValueError(f"{where or 'model'}: cache={cache!r} needs a time-basis model (basis.k > 0); use 'none'")
    if cache == "knots" and not hat:
        raise ValueError(f"{where or 'model'}: cache='knots' needs the hat time encoding; use 'coefficients'")
    if cache == "coefficients" and weights.knot_residual is not None:
        raise ValueError(f"{where or 'model'}: cache='coefficients' cannot hold the knot residual; "
                         f"use 'knots' or 'none'")
    return cache


class Decoder:
    def __init__(self, weights: GridMLPWeights, device: str, name: str, times: list[float], where=None,
                 cache: str = "auto"):
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
        self.weights, self.device, self.name, self.times = weights, device, name, times
        self.width, self.height = weights.width, weights.height
        self.where = where
        model, mask = KernelModel.from_weights(weights), kernel_mask(weights)
        if device == "cpu":
            from .cpu_backend import CpuBackend

            self.backend = CpuBackend(model, mask)
        else:
            from .cuda_backend import CudaBackend

            self.backend = CudaBackend(model, mask)
        self.cache = _resolve_cache(cache, weights, where)
        images, pairs = weights.additive_images
        if self.cache != "none":  # the base plane holds the images of every time; the knot planes the rest
            self.backend.cache_basis(weights.time_bias([0.0])[0], kernel_weights((pairs[:, 0] < 0).astype(np.float32)))
        self.knots = KnotPlanes(weights.config) if self.cache == "knots" else None
        if self.knots is not None:
            knotted = pairs[:, 0] >= 0
            residual = (images[knotted], pairs[knotted]) if knotted.any() else None
            sun = (weights.sun_weight, weights.sun_bias) if weights.sun_k else None
            self.backend.fold_planes(lambda planes: self.knots.fold(planes, weights.time_weight,
                                                                    weights.time_bias_vector, residual, sun))

    @classmethod
    def open(cls, source, device: str = "cpu", lightmap: tuple[str, int] | None = None,
             cache: str = "auto") -> "Decoder":
        """source: a path or bytes; lightmap: (level, id), needed when the container holds several.
        cache, for models with a time basis: "coefficients" evaluates the network's coefficients of
        every texel once, here, so a frame costs k + 1 multiply-adds per texel and channel, at
        3(k + 1) x 4 bytes per texel; "knots" (hat time encoding) folds them into a day and/or a
        night plane per time knot (knot_cache.py: 26 planes at 24 knots), so a frame reads at
        most 2 planes per channel, at 3 x planes x 2 bytes per texel (int16 planes); "none"
        evaluates the whole network per frame (least memory; what a tool that samples a few texels wants). "auto":
        knots where the model allows, else coefficients, else none."""
        where = str(source) if isinstance(source, (str, Path)) else None
        with Container.open(source) as container:
            if lightmap is None and len(container.lightmaps) != 1:
                raise ContainerError(where, f"holds {len(container.lightmaps)} lightmaps; choose one "
                                            f"with lightmap=(level, id)")
            entry = container.lightmap(*lightmap) if lightmap is not None else container.lightmaps[0]
            weights = GridMLPWeights.from_entry(entry, where)
            return cls(weights, device, entry.name, list(entry.times), where, cache)

    def _time(self, t) -> float:
        return check_time(float(t) if isinstance(t, (int, float, np.floating, np.integer)) else t, self.where)

    def decode_frame(self, t: float, out=None):
        """[H, W, 3] float32 linear HDR at time t (hours, 24 wraps to 0); masked texels are 0.
        `out`: a caller-owned buffer of that shape (numpy on cpu, any CUDA array on cuda)."""
        t = self._time(t)
        return self.backend.decode(self.weights.time_bias([t])[0], self._weights([t])[0],
                                   self._image_weights([t]), self._sun_rows([t])[0], out)

    def decode_frame_host(self, t: float, out: np.ndarray | None = None) -> np.ndarray:
        """decode_frame, delivered as a numpy array whatever the device."""
        if self.device == "cpu":
            return self.decode_frame(t, out=out)
        frame = self.decode_frame(t).copy_to_host()
        if out is None:
            return frame
        out[...] = frame
        return out

    def decode_frames(self, ts) -> np.ndarray:
        """[N, H, W, 3] numpy; each frame is decoded (or copied) straight into its slot."""
        frames = np.empty((len(ts), self.height, self.width, 3), np.float32)
        for i, t in enumerate(ts):
            self.decode_frame_host(t, out=frames[i])
        return frames

    def sample(self, ys, xs, ts):
        """[N, 3] values at texel rows ys, columns xs (integers) and times ts (broadcast)."""
        ys, xs = np.asarray(ys), np.asarray(xs)
        ys, xs, ts = np.broadcast_arrays(ys, xs, np.asarray(ts, np.float64))
        ys, xs, ts = ys.reshape(-1), xs.reshape(-1), ts.reshape(-1)
        if ys.size and (not np.all(np.isfinite(ts)) or ts.min() < 0 or ts.max() > 24):
            raise ValueError("times must be hours in [0, 24]")
        yi, xi = ys.astype(np.int64), xs.astype(np.int64)
        if ys.size and (np.any(yi != ys) or np.any(xi != xs) or yi.min() < 0 or xi.min() < 0
                        or yi.max() >= self.height or xi.max() >= self.width):
            raise ValueError(f"texel coordinates must be integers inside {self.height} x {self.width}")
        unique, index = np.unique(np.remainder(ts, 24.0), return_inverse=True)
        return self.backend.sample(yi, xi, index.astype(np.int64), self.weights.time_bias(unique),
                                   self._weights(unique), self._image_weights(unique), self._sun_rows(unique))

    def _image_weights(self, ts) -> np.ndarray | None:
        """[N, P] per time for the uncached kernels; None where planes are cached (they hold the
        images folded in)."""
        return kernel_weights(self.weights.image_weights(ts)) if self.cache == "none" else None

    def _weights(self, ts) -> np.ndarray:
        """[N, ...] per time: the cached planes' weights, or the network's time row."""
        if self.knots is not None:
            return self.knots.weights(ts)
        if self.cache == "coefficients":
            sun = self.weights.sun_weights(ts) if self.weights.sun_k else None
            return coefficient_weights(self.weights.basis_weights(ts), sun)
        return self.weights.time_row(ts)

    def _sun_rows(self, ts) -> np.ndarray:
        """[N, 3] float32 per time for the cached kernels: the first plane of the sun's set (the
        plane count without a sun window), the window's width and t mod 24."""
        first = self.knots.count if self.knots is not None else self.weights.basis_k + 1
        t = np.remainder(np.asarray(ts, np.float64).reshape(-1), 24.0)
        rows = np.empty((t.size, 3), np.float32)
        rows[:, 0], rows[:, 1], rows[:, 2] = first, self.weights.config.sun.width, t
        return rows

    @property
    def resident_bytes(self) -> int:
        return self.backend.resident_bytes
