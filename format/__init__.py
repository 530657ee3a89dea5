"""Bytes on disk: lightmap datasets (HPRC, EXR, .hdr, sequences) and the .tlm container.

numpy + zstandard only (OpenEXR and Pillow for their image formats); never torch.
"""

from .container import Container, ContainerError, LightmapEntry
from .container_writer import LightmapRecord, Tensor, write_container
from .errors import FormatError
from .exr import read_exr, write_exr
from .hprc import HPRCDataset, HPRCEntry, write_hprc
from .lightmap_set import LightmapSet
from .quant import AffineQuant, calibrate, dequantize
from .radiance import read_hdr, write_hdr
from .sample import TodSample, load_sample
from .sequence import read_sequence, write_sequence
from .sources import iter_lightmaps, single_frame_set
from .times import HPRC_RATIO_FRAMES, HPRC_TIMES, lamps_on, time_key

__all__ = [
    "AffineQuant", "Container", "ContainerError", "LightmapEntry", "LightmapRecord", "Tensor", "calibrate",
    "dequantize", "write_container",
    "FormatError", "HPRCDataset", "HPRCEntry", "HPRC_RATIO_FRAMES", "HPRC_TIMES", "LightmapSet",
    "TodSample", "iter_lightmaps", "lamps_on", "load_sample", "read_exr", "read_hdr",
    "read_sequence", "single_frame_set", "time_key", "write_exr", "write_hdr", "write_hprc",
    "write_sequence",
]
