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

    def cache_basis(self, tb: np.ndarray, iw: np.ndarray) -> None:
        """iw: the additive images' weights that hold at every time (the base plane's)."""
        h, w, _ = self.shape
        self.planes = np.empty((3, self.model.basis_k + 1, h, w), np.float32)
        basis_planes_cpu(self.planes, tb, iw, self.mask, self.model)

    def fold_planes(self, fold) -> None:
        self.planes = fold(self.planes)

    def decode(self, tb: np.ndarray, bw: np.ndarray, iw: np.ndarray | None, out=None) -> np.ndarray:
        """bw: the planes' weights where they are cached, else b(t); iw: [1, P] the additive
        images' weights without cached planes (None with them: the planes hold the images)."""
        if out is None:
            out = np.empty(self.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.shape == self.shape and out.dtype == np.float32
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {self.shape}")
        if self.planes is not None:
            decode_cached_cpu(out, bw, self.planes, self.mask, self.model.value)
        else:
            decode_frame_cpu(out, tb, bw, iw[0], self.mask, self.model)
        return out

    def sample(self, ys, xs, index, tb_table, bw_table, iw_table) -> np.ndarray:
        out = np.empty((ys.size, 3), np.float32)
        if ys.size and self.planes is not None:
            sample_cached_cpu(out, ys, xs, index, bw_table, self.planes, self.mask, self.model.value)
        elif ys.size:
            sample_cpu(out, ys, xs, index, tb_table, bw_table, iw_table, self.mask, self.model)
        return out

    @property
    def resident_bytes(self) -> int:
        planes = self.planes.nbytes if self.planes is not None else 0
        return sum(x.nbytes for x in self.model if isinstance(x, np.ndarray)) + self.mask.nbytes + planes
