"""One entry point for every supported input: a path in, LightmapSets out, one at a time."""

import os
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import FormatError
from .hprc import HPRCDataset
from .lightmap_set import LightmapSet, coverage_from_values
from .sequence import FRAME_READERS, read_frame, read_sequence


TIMED_NAME = re.compile(r"^(?P<name>.+)[_-](?P<hours>\d{1,2}(?:\.\d+)?)$")  # court_07.5.exr: court at 7.5 h


def single_frame_set(path: str | os.PathLike, time: float = 0.0, lid: int = 0) -> LightmapSet:
    """One image as a one-time lightmap (e.g. the HPRC t=0 atlases)."""
    path = Path(path)
    frames = read_frame(path)[None]
    return LightmapSet(frames, np.array([time]), coverage_from_values(frames),
                       name=path.stem, level=path.parent.name, id=lid, source=str(path))


def timed_sequence(folder: Path, name: str, files: list[tuple[float, Path]], lid: int) -> LightmapSet:
    """Frames named NAME_HOURS.exr as one lightmap over the day; coverage from the values."""
    files = sorted(files)
    frames = [read_frame(p) for _, p in files]
    if len({f.shape for f in frames}) != 1:
        raise FormatError(folder, f"the frames of {name!r} differ in size: "
                                  f"{', '.join(f'{p.name} {f.shape[1]}x{f.shape[0]}' for (_, p), f in zip(files, frames))}")
    stack = np.stack(frames)
    return LightmapSet(stack, np.array([t for t, _ in files]), coverage_from_values(stack), name=name,
                       level=folder.name, id=lid, source=str(folder))


def image_folder(path: Path) -> Iterator[LightmapSet]:
    """A folder of .exr/.hdr files: names NAME_HOURS (two or more sharing NAME) make one time
    sequence per NAME; any other file is a one-frame lightmap at t = 0. Each lightmap gets its own
    id (level: the folder's name), in name order; checked whole before any frame is read."""
    images = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_READERS)
    if not images:
        raise FormatError(path, "no config.json, manifest.json or .exr/.hdr frames here")
    groups: dict[str, list[tuple[float, Path]]] = {}
    for image in images:
        m = TIMED_NAME.match(image.stem)
        hours = float(m["hours"]) if m else None
        if m and 0.0 <= hours <= 24.0:
            groups.setdefault(m["name"], []).append((hours, image))
        else:
            groups.setdefault(image.stem, []).append((None, image))
    lightmaps = []
    for name, files in sorted(groups.items()):
        if len(files) == 1:
            lightmaps.append(("single", files[0][1]))
            continue
        times = [t for t, _ in files]
        if len(set(times)) != len(times):
            clash = sorted(p.name for t, p in files if times.count(t) > 1)
            raise FormatError(path, f"{', '.join(clash)} give {name!r} the same time twice")
        lightmaps.append(("sequence", (name, files)))
    for lid, (kind, what) in enumerate(lightmaps):
        yield single_frame_set(what, lid=lid) if kind == "single" else timed_sequence(path, *what, lid)


def iter_lightmaps(path: str | os.PathLike) -> Iterator[LightmapSet]:
    """HPRC folder (config.json), sequence (manifest.json), one .exr/.hdr, or a folder of them
    (image_folder: NAME_HOURS.exr files make a time sequence)."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        yield from HPRCDataset(path)
    elif path.is_file() and path.suffix == ".json" or path.is_dir() and (path / "manifest.json").is_file():
        yield read_sequence(path)
    elif path.is_file() and path.suffix.lower() in FRAME_READERS:
        yield single_frame_set(path)
    elif path.is_dir():
        yield from image_folder(path)
    elif not path.exists():
        raise FormatError(path, "no such file or folder")
    else:
        raise FormatError(path, "unsupported input (expected an HPRC folder, a manifest, .exr or .hdr)")


def lightmap_index(path: str | os.PathLike) -> list[tuple[tuple[str, int], tuple[int, int, int]]]:
    """((level, id), (height, width, times)) of every lightmap `path` holds, in iter_lightmaps'
    order; an HPRC folder answers from its config.json without reading frames."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        return [((e.level, e.id), (e.height, e.width, len(e.frames))) for e in HPRCDataset(path).entries]
    return [(lm.key, (lm.height, lm.width, len(lm.times))) for lm in iter_lightmaps(path)]


def read_lightmap(path: str | os.PathLike, key: tuple[str, int]) -> LightmapSet:
    """The one lightmap `key` of `path` (an HPRC folder reads only its frames)."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").is_file():
        dataset = HPRCDataset(path)
        return dataset.load(dataset.find(*key))
    for lm in iter_lightmaps(path):
        if lm.key == tuple(key):
            return lm
    raise FormatError(path, f"no lightmap {key[0]}/{key[1]}")
