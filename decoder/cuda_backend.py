"""The CUDA side of Decoder: arrays uploaded once; results stay on the device as numba device
arrays (`__cuda_array_interface__`, so torch.as_tensor takes them without a copy)."""

import numpy as np
from numba import cuda

from .cuda_kernels import (BLOCK, MAX_WIDTH, basis_planes_cuda, decode_cached_cuda, decode_frame_cuda,
                           sample_cached_cuda, sample_cuda)
from .weights import KernelArrays


class CudaBackend:
    def __init__(self, a: KernelArrays):
        if a.max_width > MAX_WIDTH:
            raise ValueError(f"the CUDA decoder takes MLPs up to {MAX_WIDTH} wide; this one is {a.max_width} wide")
        self.shape = (a.mask.shape[0], a.mask.shape[1], 3)
        self.channels, self.has_base, self.basis_k, self.detail_j = a.channels, a.has_base, a.basis_k, a.detail_j
        self.kr_count = a.kr_count
        self.n_weights = a.w_data.size
        self.dev = {name: cuda.to_device(getattr(a, name))
                    for name in ("grid_data", "grid_meta", "base_data", "w_data", "layer_meta", "mask", "value",
                                 "detail_data", "detail_colour", "kr_data")}
        self.planes = None

    def _args(self):
        d = self.dev
        return (d["grid_data"], d["grid_meta"], self.channels, d["base_data"], self.has_base, d["w_data"],
                d["layer_meta"], d["value"], self.n_weights, self.basis_k, *self._detail())

    def _detail(self):
        return self.dev["detail_data"], self.dev["detail_colour"], self.detail_j

    def _knot_residual(self, weights: np.ndarray):
        return self.dev["kr_data"], cuda.to_device(np.ascontiguousarray(weights)), self.kr_count

    def _grid(self):
        h, w, _ = self.shape
        return ((w + BLOCK[0] - 1) // BLOCK[0], (h + BLOCK[1] - 1) // BLOCK[1])

    def cache_basis(self, tb: np.ndarray) -> None:
        h, w, _ = self.shape
        self.planes = cuda.device_array((3, self.basis_k + 1, h, w), np.float32)
        d = self.dev
        basis_planes_cuda[self._grid(), BLOCK](self.planes, cuda.to_device(tb), d["mask"], d["grid_data"],
                                               d["grid_meta"], self.channels, d["base_data"], self.has_base,
                                               d["w_data"], d["layer_meta"], self.n_weights, self.basis_k,
                                               *self._detail())

    def fold_planes(self, fold) -> None:
        """The planes come to the host to be folded (once, at open) and go back."""
        self.planes = cuda.to_device(fold(self.planes.copy_to_host()))

    def decode(self, tb: np.ndarray, bw: np.ndarray, kr_w: np.ndarray, out=None):
        """bw: the planes' weights where they are cached, else b(t); kr_w: [1, P] the knot
        residual's weights without cached planes (None with them: they hold it folded in)."""
        h, w, _ = self.shape
        if out is None:
            out = cuda.device_array(self.shape, np.float32)
        else:
            out = cuda.as_cuda_array(out)
            if out.shape != self.shape or out.dtype != np.float32 or not out.is_c_contiguous():
                raise ValueError(f"out must be a C-contiguous float32 CUDA array of shape {self.shape}")
        flat = out.reshape(h * w, 3)
        if self.planes is not None:
            decode_cached_cuda[self._grid(), BLOCK](flat, cuda.to_device(bw), self.planes, self.dev["mask"],
                                                    self.dev["value"])
        else:
            decode_frame_cuda[self._grid(), BLOCK](flat, cuda.to_device(tb), cuda.to_device(bw), self.dev["mask"],
                                                   *self._args(), *self._knot_residual(kr_w[0]))
        return out

    def sample(self, ys, xs, index, tb_table, bw_table, kr_table):
        n = ys.size
        out = cuda.device_array((n, 3), np.float32)
        if n:
            threads, blocks = 128, (n + 127) // 128
            ys, xs, index = cuda.to_device(ys), cuda.to_device(xs), cuda.to_device(index)
            if self.planes is not None:
                sample_cached_cuda[blocks, threads](out, ys, xs, index, cuda.to_device(bw_table), self.planes,
                                                    self.dev["mask"], self.dev["value"])
            else:
                sample_cuda[blocks, threads](out, ys, xs, index, cuda.to_device(tb_table), cuda.to_device(bw_table),
                                             self.dev["mask"], *self._args(), *self._knot_residual(kr_table))
        return out

    @property
    def resident_bytes(self) -> int:
        planes = self.planes.nbytes if self.planes is not None else 0
        return sum(v.nbytes for v in self.dev.values()) + planes
