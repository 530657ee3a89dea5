"""The CPU side of Decoder: holds the flat arrays (and, for basis models, optionally the cached
coefficient planes) and calls the numba kernels."""

import numpy as np

from .cpu_kernels import basis_planes_cpu, decode_cached_cpu, decode_frame_cpu, sample_cached_cpu, sample_cpu
from .weights import KernelArrays


class CpuBackend:
    def __init__(self, a: KernelArrays):
        self.a = a
        self.shape = (a.mask.shape[0], a.mask.shape[1], 3)
        self.planes = None

    def _args(self):
        a = self.a
        return (a.grid_data, a.grid_meta, a.channels, a.base_data, a.has_base, a.w_data, a.layer_meta, a.value,
                a.max_width, a.basis_k, *self._detail())

    def _detail(self):
        return self.a.detail_data, self.a.detail_colour, self.a.detail_j

    def cache_basis(self, tb: np.ndarray) -> None:
        a = self.a
        h, w, _ = self.shape
        self.planes = np.empty((3, a.basis_k + 1, h, w), np.float32)
        basis_planes_cpu(self.planes, tb, a.mask, a.grid_data, a.grid_meta, a.channels, a.base_data, a.has_base,
                         a.w_data, a.layer_meta, a.max_width, a.basis_k, *self._detail())

    def fold_planes(self, fold) -> None:
        self.planes = fold(self.planes)

    def decode(self, tb: np.ndarray, bw: np.ndarray, kr_w: np.ndarray, out=None) -> np.ndarray:
        """bw: the planes' weights where they are cached, else b(t); kr_w: [1, P] the knot
        residual's weights without cached planes (None with them: they hold it folded in)."""
        if out is None:
            out = np.empty(self.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.shape == self.shape and out.dtype == np.float32
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {self.shape}")
        if self.planes is not None:
            decode_cached_cpu(out, bw, self.planes, self.a.mask, self.a.value)
        else:
            decode_frame_cpu(out, tb, bw, self.a.mask, *self._args(), self.a.kr_data, kr_w[0], self.a.kr_count)
        return out

    def sample(self, ys, xs, index, tb_table, bw_table, kr_table) -> np.ndarray:
        out = np.empty((ys.size, 3), np.float32)
        if ys.size and self.planes is not None:
            sample_cached_cpu(out, ys, xs, index, bw_table, self.planes, self.a.mask, self.a.value)
        elif ys.size:
            sample_cpu(out, ys, xs, index, tb_table, bw_table, self.a.mask, *self._args(), self.a.kr_data, kr_table,
                       self.a.kr_count)
        return out

    @property
    def resident_bytes(self) -> int:
        a = self.a
        planes = self.planes.nbytes if self.planes is not None else 0
        return sum(x.nbytes for x in (a.grid_data, a.base_data, a.w_data, a.mask, a.detail_data, a.kr_data)) + planes
