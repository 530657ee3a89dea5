"""HPRC submission interface, written by `todlm export hprc`. The decoder is the vendored
todlm.decoder + todlm.format next to this file; every parameter is in Parameters/model.tlm
(all sections raw). get() loads, dequantises and JIT-warms (untimed); reconstruct(t) decodes
one frame with one kernel launch; get_result() hands that fresh frame over as a tensor."""

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from todlm.decoder.api import Decoder  # noqa: E402

PARAMETERS = os.path.join(HERE, "Parameters", "model.tlm")


class Reconstructor:
    def __init__(self, lightmap_config: dict, device):
        self.device = torch.device(device)
        backend = "cuda" if self.device.type == "cuda" else "cpu"
        key = (str(lightmap_config["level"]), int(lightmap_config["id"]))
        if self.device.type == "cuda" and self.device.index is not None:
            from numba import cuda

            cuda.select_device(self.device.index)  # before open: the weights upload to this GPU
        self.decoder = Decoder.open(PARAMETERS, device=backend, lightmap=key)
        self.decoder.decode_frame(12.0)
        self.decoder.sample(np.zeros(1, np.int64), np.zeros(1, np.int64), np.full(1, 12.0))
        self._sync()
        self.frame = None

    def _sync(self):
        if self.device.type == "cuda":
            from numba import cuda

            cuda.synchronize()

    def reconstruct(self, current_time: float):
        self.frame = self.decoder.decode_frame(float(current_time))

    def get_result(self) -> torch.Tensor:
        if self.frame is None:
            raise RuntimeError("get_result() before reconstruct()")
        frame = torch.as_tensor(self.frame, device=self.device)  # no copy: numpy or CUDA array interface
        self.frame = None  # the harness zeroes the returned tensor in place: never hand it out twice
        return frame.permute(2, 0, 1).unsqueeze(0).contiguous()

    def random_test(self, coord) -> torch.Tensor:
        coord = np.asarray(coord, np.float64).reshape(-1, 3)
        values = self.decoder.sample(coord[:, 0].astype(np.int64), coord[:, 1].astype(np.int64), coord[:, 2])
        return torch.as_tensor(values, device=self.device).reshape(-1, 3)


def get(lightmap_config: dict, device) -> Reconstructor:
    return Reconstructor(lightmap_config, device)
