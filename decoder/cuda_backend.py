"""The CUDA side of Decoder: arrays uploaded once; results stay on the device as numba device
arrays (`__cuda_array_interface__`, so torch.as_tensor takes them without a copy)."""

import numpy as np
from numba import cuda

from .cuda_kernels import BLOCK, MAX_WEIGHTS, MAX_WIDTH, decode_frame_cuda, sample_cuda
from .weights import KernelArrays


class CudaBackend:
    def __init__(self, a: KernelArrays):
        if a.max_width > MAX_WIDTH or a.w_data.size > MAX_WEIGHTS:
            raise ValueError(f"the CUDA decoder takes MLPs up to {MAX_WIDTH} wide and {MAX_WEIGHTS} weights; "
                             f"this one is {a.max_width} wide with {a.w_data.size}")
        self.shape = (a.mask.shape[0], a.mask.shape[1], 3)
        self.channels, self.has_base = a.channels, a.has_base
        self.n_weights = a.w_data.size
        self.dev = {name: cuda.to_device(getattr(a, name))
                    for name in ("grid_data", "grid_meta", "base_data", "w_data", "layer_meta", "mask", "value")}
        self.resident_bytes = sum(getattr(a, n).nbytes for n in self.dev)

    def _args(self):
        d = self.dev
        return (d["grid_data"], d["grid_meta"], self.channels, d["base_data"], self.has_base, d["w_data"],
                d["layer_meta"], d["value"], self.n_weights)

    def decode(self, tb: np.ndarray, out=None):
        h, w, _ = self.shape
        if out is None:
            out = cuda.device_array(self.shape, np.float32)
        else:
            out = cuda.as_cuda_array(out)
            if out.shape != self.shape or out.dtype != np.float32 or not out.is_c_contiguous():
                raise ValueError(f"out must be a C-contiguous float32 CUDA array of shape {self.shape}")
        grid = ((w + BLOCK[0] - 1) // BLOCK[0], (h + BLOCK[1] - 1) // BLOCK[1])
        decode_frame_cuda[grid, BLOCK](out.reshape(h * w, 3), cuda.to_device(tb), self.dev["mask"], *self._args())
        return out

    def sample(self, ys, xs, index, table):
        n = ys.size
        out = cuda.device_array((n, 3), np.float32)
        if n:
            threads = 128
            sample_cuda[(n + threads - 1) // threads, threads](out, cuda.to_device(ys), cuda.to_device(xs),
                                                               cuda.to_device(index), cuda.to_device(table),
                                                               self.dev["mask"], *self._args())
        return out
