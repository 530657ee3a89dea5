"""The CPU side of Decoder: holds the kernel model (and, for basis models, optionally the cached
planes) and calls the numba kernels."""

import numpy as np

from .cpu_kernels import basis_planes_cpu, decode_cached_cpu, decode_frame_cpu, sample_cached_cpu, sample_cpu
from .kernel_model import KernelModel


class CpuBackend:
    def __init__(self, model: KernelModel, mask: np.ndarray):
        self.model, self.mask = model, mask
        self.shape = (mask.shape[0], mask.shape[1], 3)
        self.planes = None
        self.window = np.zeros((2, 1, 1), np.float32)  # a sun window's ends per texel, once cached

    def cache_basis(self, tb: np.ndarray, iw: np.ndarray) -> None:
        """iw: the additive images' weights that hold at every time (the base plane's)."""
        h, w, _ = self.shape
        self.planes = np.empty((3, self.model.basis_k + 1 + self.model.sun_k, h, w), np.float32)
        if self.model.sun_k:
            self.window = np.empty((2, h, w), np.float32)
        basis_planes_cpu(self.planes, self.window, tb, iw, self.mask, self.model)

    def fold_planes(self, fold) -> None:
        self.planes = fold(self.planes)

    def decode(self, tb: np.ndarray, bw: np.ndarray, iw: np.ndarray | None, sun: np.ndarray, out=None) -> np.ndarray:
        """bw: the planes' weights where they are cached, else the network's time row; iw: [1, P]
        the additive images' weights without cached planes (None with them: the planes hold the
        images); sun: the cached planes' sun row (first sun plane, width, t mod 24)."""
        if out is None:
            out = np.empty(self.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.shape == self.shape and out.dtype == np.float32
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {self.shape}")
        if self.planes is not None:
            decode_cached_cpu(out, bw, self.planes, self.window, sun, self.mask, self.model.value)
        else:
            decode_frame_cpu(out, tb, bw, iw[0], self.mask, self.model)
        return out

    def sample(self, ys, xs, index, tb_table, bw_table, iw_table, sun_table) -> np.ndarray:
        out = np.empty((ys.size, 3), np.float32)
        if ys.size and self.planes is not None:
            sample_cached_cpu(out, ys, xs, index, bw_table, self.planes, self.window, sun_table, self.mask,
                              self.model.value)
        elif ys.size:
            sample_cpu(out, ys, xs, index, tb_table, bw_table, iw_table, self.mask, self.model)
        return out

    @property
    def resident_bytes(self) -> int:
        planes = self.planes.nbytes if self.planes is not None else 0
        return (sum(x.nbytes for x in self.model if isinstance(x, np.ndarray)) + self.mask.nbytes + planes
                + self.window.nbytes)
