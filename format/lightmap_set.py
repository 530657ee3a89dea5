"""LightmapSet: every frame of one lightmap over the day, the unit all of todlm works on."""

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import FormatError
from .times import check_time, lamps_on


@dataclass
class LightmapSet:
    """frames [T,H,W,3] float32 linear HDR; times [T] hours; masks [T,H,W] bool (True = valid
    texel; may differ per time); lamps [T] bool (local lamps on at that time)."""

    frames: np.ndarray
    times: np.ndarray
    masks: np.ndarray
    lamps: np.ndarray | None = None
    name: str = "lightmap"
    level: str = "level"
    id: int = 0
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        self.frames = np.asarray(self.frames, dtype=np.float32)
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        self.masks = np.asarray(self.masks, dtype=bool)
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise FormatError(self.source, f"frames must be [T,H,W,3], got {self.frames.shape}")
        t, h, w, _ = self.frames.shape
        if self.times.shape != (t,):
            raise FormatError(self.source, f"{t} frames but {self.times.size} times")
        for value in self.times:
            check_time(float(value), self.source)
        if len(set(self.times.tolist())) != t:
            raise FormatError(self.source, f"duplicate times in {self.times.tolist()}")
        if self.masks.shape != (t, h, w):
            raise FormatError(self.source, f"masks {self.masks.shape} do not match frames {self.frames.shape}")
        if self.lamps is None:
            self.lamps = np.array([lamps_on(x) for x in self.times], dtype=bool)
        self.lamps = np.asarray(self.lamps, dtype=bool).reshape(-1)
        if self.lamps.shape != (t,):
            raise FormatError(self.source, f"{t} frames but {self.lamps.size} lamp states")

    @property
    def n_times(self) -> int:
        return self.frames.shape[0]

    @property
    def height(self) -> int:
        return self.frames.shape[1]

    @property
    def width(self) -> int:
        return self.frames.shape[2]

    @property
    def key(self) -> tuple[str, int]:
        return (self.level, self.id)

    def sorted_by_time(self) -> "LightmapSet":
        order = np.argsort(self.times, kind="stable")
        return self.select(order)

    def select(self, indices) -> "LightmapSet":
        idx = np.asarray(indices)
        return LightmapSet(self.frames[idx], self.times[idx], self.masks[idx], self.lamps[idx],
                           self.name, self.level, self.id, self.source)


def check_frame_values(frame: np.ndarray, path) -> np.ndarray:
    """Lightmaps are finite, non-negative radiance; anything else is a broken file."""
    bad = ~np.isfinite(frame)
    if bad.any():
        y, x = np.argwhere(bad.any(axis=-1) if frame.ndim == 3 else bad)[0][:2]
        raise FormatError(path, f"{int(bad.sum())} NaN/Inf values (first at row {y}, column {x})")
    if (frame < 0).any():
        neg = frame < 0
        y, x = np.argwhere(neg.any(axis=-1) if frame.ndim == 3 else neg)[0][:2]
        raise FormatError(path, f"{int(neg.sum())} negative values, min {float(frame.min()):.4g} "
                                f"(first at row {y}, column {x})")
    return frame


def coverage_from_values(frames: np.ndarray) -> np.ndarray:
    """Coverage for data without masks: a texel is valid if it is non-zero at some time."""
    covered = (frames != 0).any(axis=(0, 3))
    return np.broadcast_to(covered, frames.shape[:3]).copy()


def without_unlit(lightmap: LightmapSet) -> LightmapSet:
    """The set with texels that are 0 at every time taken out of its masks, as if they were empty
    atlas space: a model trained and exported on it decodes them as exactly 0 from its stored
    mask, and spends nothing on the sharp edges between them and lit texels."""
    return replace(lightmap, masks=lightmap.masks & coverage_from_values(lightmap.frames))
