"""The CPU side of Decoder: holds the flat arrays and calls the numba kernels."""

import numpy as np

from .cpu_kernels import decode_frame_cpu, sample_cpu
from .weights import KernelArrays


class CpuBackend:
    def __init__(self, a: KernelArrays):
        self.a = a
        self.shape = (a.mask.shape[0], a.mask.shape[1], 3)

    def _args(self):
        a = self.a
        return (a.grid_data, a.grid_meta, a.channels, a.base_data, a.has_base, a.w_data, a.layer_meta, a.value,
                a.max_width)

    def decode(self, tb: np.ndarray, out=None) -> np.ndarray:
        if out is None:
            out = np.empty(self.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.shape == self.shape and out.dtype == np.float32
                  and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous float32 array of shape {self.shape}")
        decode_frame_cpu(out, tb, self.a.mask, *self._args())
        return out

    def sample(self, ys, xs, index, table) -> np.ndarray:
        out = np.empty((ys.size, 3), np.float32)
        if ys.size:
            sample_cpu(out, ys, xs, index, table, self.a.mask, *self._args())
        return out

    @property
    def resident_bytes(self) -> int:
        a = self.a
        return sum(x.nbytes for x in (a.grid_data, a.base_data, a.w_data, a.mask))
