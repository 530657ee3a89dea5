"""One entry point for every supported input: a path in, LightmapSets out, one at a time."""

import os
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import FormatError
from .hprc import HPRCDataset
from .lightmap_set import LightmapSet, coverage_from_values
from .sequence import FRAME_READERS, read_frame, read_sequence


def single_frame_set(path: str | os.PathLike, time: float = 0.0) -> LightmapSet:
    """One image as a one-time lightmap (e.g. the HPRC t=0 atlases)."""
    path = Path(path)
    frames = read_frame(path)[None]
    return LightmapSet(frames, np.array([time]), coverage_from_values(frames),
                       name=path.stem, level=path.parent.name, id=0, source=str(path))


def iter_lightmaps(path: str | os.PathLike) -> Iterator[LightmapSet]:
    """HPRC folder (config.json), sequence (manifest.json), one .exr/.hdr, or a folder of them."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        yield from HPRCDataset(path)
    elif path.is_file() and path.suffix == ".json" or path.is_dir() and (path / "manifest.json").is_file():
        yield read_sequence(path)
    elif path.is_file() and path.suffix.lower() in FRAME_READERS:
        yield single_frame_set(path)
    elif path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_READERS)
        if not images:
            raise FormatError(path, "no config.json, manifest.json or .exr/.hdr frames here")
        for image in images:
            yield single_frame_set(image)
    elif not path.exists():
        raise FormatError(path, "no such file or folder")
    else:
        raise FormatError(path, "unsupported input (expected an HPRC folder, a manifest, .exr or .hdr)")
