"""The CUDA side of Decoder: arrays uploaded once; results stay on the device as numba device
arrays (`__cuda_array_interface__`, so torch.as_tensor takes them without a copy)."""

import numpy as np
from numba import cuda

from .cuda_kernels import (BLOCK, MAX_WIDTH, basis_planes_cuda, decode_cached_cuda, decode_frame_cuda,
                           sample_cached_cuda, sample_cuda)
from .kernel_model import KernelModel


class CudaBackend:
    def __init__(self, model: KernelModel, mask: np.ndarray):
        if not cuda.is_available():
            raise ValueError("device cuda: numba finds no CUDA GPU on this machine")
        if model.max_width > MAX_WIDTH:
            raise ValueError(f"the CUDA decoder takes MLPs up to {MAX_WIDTH} wide; this one is "
                             f"{model.max_width} wide")
        self.shape = (mask.shape[0], mask.shape[1], 3)
        self.model = KernelModel(*(cuda.to_device(x) if isinstance(x, np.ndarray) else x for x in model))
        self.mask = cuda.to_device(mask)
        self.planes = None
        self.window = cuda.to_device(np.zeros((2, 1, 1), np.float32))  # a sun window's ends per texel, once cached

    def _grid(self):
        h, w, _ = self.shape
        return ((w + BLOCK[0] - 1) // BLOCK[0], (h + BLOCK[1] - 1) // BLOCK[1])

    def cache_basis(self, tb: np.ndarray, iw: np.ndarray) -> None:
        """iw: the additive images' weights that hold at every time (the base plane's)."""
        h, w, _ = self.shape
        self.planes = cuda.device_array((3, self.model.basis_k + 1 + self.model.sun_k, h, w), np.float32)
        if self.model.sun_k:
            self.window = cuda.device_array((2, h, w), np.float32)
        basis_planes_cuda[self._grid(), BLOCK](self.planes, self.window, cuda.to_device(tb), cuda.to_device(iw),
                                               self.mask, self.model)

    def fold_planes(self, fold) -> None:
        """The planes come to the host to be folded (once, at open) and go back."""
        self.planes = cuda.to_device(fold(self.planes.copy_to_host()))

    def decode(self, tb: np.ndarray, bw: np.ndarray, iw: np.ndarray | None, sun: np.ndarray, out=None):
        """CpuBackend.decode's twin."""
        h, w, _ = self.shape
        if out is None:
            out = cuda.device_array(self.shape, np.float32)
        else:
            if not hasattr(out, "copy_to_host"):  # a numba device array is used as it is; others by their interface
                out = cuda.as_cuda_array(out)
            if out.shape != self.shape or out.dtype != np.float32 or not out.is_c_contiguous():
                raise ValueError(f"out must be a C-contiguous float32 CUDA array of shape {self.shape}")
        flat = out.reshape(h * w, 3)
        if self.planes is not None:
            decode_cached_cuda[self._grid(), BLOCK](flat, cuda.to_device(bw), self.planes, self.window,
                                                    cuda.to_device(sun), self.mask, self.model.value)
        else:
            decode_frame_cuda[self._grid(), BLOCK](flat, cuda.to_device(tb), cuda.to_device(bw),
                                                   cuda.to_device(np.ascontiguousarray(iw[0])), self.mask, self.model)
        return out

    def sample(self, ys, xs, index, tb_table, bw_table, iw_table, sun_table):
        n = ys.size
        out = cuda.device_array((n, 3), np.float32)
        if n:
            threads, blocks = 128, (n + 127) // 128
            ys, xs, index = cuda.to_device(ys), cuda.to_device(xs), cuda.to_device(index)
            if self.planes is not None:
                sample_cached_cuda[blocks, threads](out, ys, xs, index, cuda.to_device(bw_table), self.planes,
                                                    self.window, cuda.to_device(sun_table), self.mask,
                                                    self.model.value)
            else:
                sample_cuda[blocks, threads](out, ys, xs, index, cuda.to_device(tb_table), cuda.to_device(bw_table),
                                             cuda.to_device(np.ascontiguousarray(iw_table)), self.mask, self.model)
        return out

    @property
    def resident_bytes(self) -> int:
        planes = self.planes.nbytes if self.planes is not None else 0
        return (sum(x.nbytes for x in self.model if hasattr(x, "nbytes")) + self.mask.nbytes + planes
                + self.window.nbytes)

