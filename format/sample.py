"""The bundled time-of-day sample: a 256x256 courtyard lightmap baked by bench/scenes/bake_tod.py."""

from dataclasses import dataclass
from importlib import resources

import numpy as np

from .lightmap_set import LightmapSet
from .sample_codec import decode_sample


@dataclass
class TodSample:
    train: LightmapSet  # the 26 HPRC times
    unseen: LightmapSet  # 8 times between them, never trained on
    bake: dict  # the settings it was baked with

    def all_times(self) -> LightmapSet:
        """Train and unseen times in one set, sorted by time."""
        parts = (self.train, self.unseen)
        return LightmapSet(np.concatenate([p.frames for p in parts]), np.concatenate([p.times for p in parts]),
                           np.concatenate([p.masks for p in parts]), name=self.train.name,
                           level=self.train.level, id=self.train.id, source=self.train.source).sorted_by_time()


def load_sample() -> TodSample:
    blob = resources.files("todlm.format").joinpath("data/tod_sample.zst").read_bytes()
    frames, masks, meta = decode_sample(blob)
    split = np.array(meta["split"])
    times = np.array(meta["times"], np.float64)

    def part(name: str) -> LightmapSet:
        idx = np.flatnonzero(split == name)
        return LightmapSet(frames[idx], times[idx], masks[idx], name=meta["name"],
                           level=meta["level"], id=int(meta["id"]),
                           source="todlm sample").sorted_by_time()

    return TodSample(part("train"), part("unseen"), meta["bake"])
