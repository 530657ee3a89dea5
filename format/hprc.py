"""The HPRC judge's data layout: config.json + Data/ of raw float32 frames and int8 masks.

The config is small and parsed at once; frames are read one lightmap at a time, so a
200-lightmap level streams through memory instead of loading at once.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .atomic import atomic_directory
from .errors import FormatError, load_json_file
from .lightmap_set import LightmapSet, check_frame_values
from .times import parse_time_key, time_key

MASK_VALID, MASK_INVALID = 127, -1


@dataclass(frozen=True)
class HPRCEntry:
    """One lightmap of a config: where its frames and masks are, nothing loaded yet."""

    level: str
    id: int
    width: int
    height: int
    frames: dict  # time (hours) -> Path
    masks: dict  # time (hours) -> Path

    @property
    def times(self) -> list[float]:
        return sorted(self.frames)


class HPRCDataset:
    """Reader for one Data_HPRC folder (the folder holding config.json)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.config_path = self.root / "config.json"
        config = load_json_file(self.config_path, "HPRC config.json")
        if not isinstance(config, dict) or not isinstance(config.get("lightmap_list"), list):
            raise FormatError(self.config_path, "no 'lightmap_list' array")
        self.entries = [self._parse_entry(i, item) for i, item in enumerate(config["lightmap_list"])]
        declared = config.get("lightmap_count")
        if declared is not None and declared != len(self.entries):
            raise FormatError(self.config_path, f"lightmap_count {declared} but {len(self.entries)} listed")
        keys = [(e.level, e.id) for e in self.entries]
        if len(set(keys)) != len(keys):
            raise FormatError(self.config_path, "a (level, id) pair is listed twice")

    def _parse_entry(self, i: int, item) -> HPRCEntry:
        where = f"lightmap_list[{i}]"
        try:
            level, lid = item["level"], item["id"]
            width, height = item["resolution"]["width"], item["resolution"]["height"]
            frames, masks = item["lightmaps"], item["masks"]
        except (KeyError, TypeError) as exc:
            raise FormatError(self.config_path, f"{where} lacks {exc}") from None
        if not isinstance(level, str) or not isinstance(lid, int) or isinstance(lid, bool):
            raise FormatError(self.config_path, f"{where}: level must be a string and id an integer")
        for name, v in (("width", width), ("height", height)):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 65536:
                raise FormatError(self.config_path, f"{where}: bad resolution {name} {v!r}")
        if not isinstance(frames, dict) or not isinstance(masks, dict) or not frames:
            raise FormatError(self.config_path, f"{where}: 'lightmaps' and 'masks' must be non-empty objects")
        frame_paths = {parse_time_key(k, self.config_path): self._data_path(v) for k, v in frames.items()}
        mask_paths = {parse_time_key(k, self.config_path): self._data_path(v) for k, v in masks.items()}
        missing = sorted(set(frame_paths) - set(mask_paths))
        if missing:
            raise FormatError(self.config_path, f"{where}: no mask for time key {time_key(missing[0])}")
        extra = sorted(set(mask_paths) - set(frame_paths))
        if extra:
            raise FormatError(self.config_path, f"{where}: mask for time key {time_key(extra[0])} has no frame")
        return HPRCEntry(level, lid, width, height, frame_paths, mask_paths)

    def _data_path(self, name) -> Path:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
            raise FormatError(self.config_path, f"bad data file name {name!r}")
        return self.root / "Data" / name

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LightmapSet]:
        for entry in self.entries:
            yield self.load(entry)

    def find(self, level: str, lid: int) -> HPRCEntry:
        for entry in self.entries:
            if entry.level == level and entry.id == lid:
                return entry
        raise FormatError(self.config_path, f"no lightmap ({level!r}, {lid})")

    def load(self, entry: HPRCEntry) -> LightmapSet:
        times = entry.times
        frames = np.empty((len(times), entry.height, entry.width, 3), np.float32)
        masks = np.empty((len(times), entry.height, entry.width), bool)
        for i, t in enumerate(times):
            frames[i] = read_raw_frame(entry.frames[t], entry.width, entry.height)
            masks[i] = read_mask(entry.masks[t], entry.width, entry.height)
        return LightmapSet(frames, np.array(times), masks, name=f"{entry.level}/{entry.id}",
                           level=entry.level, id=entry.id, source=str(self.root))


def _read_exact(path: Path, nbytes: int, what: str) -> bytes:
    if not path.is_file():
        raise FormatError(path, f"missing {what} file")
    size = path.stat().st_size
    if size != nbytes:
        raise FormatError(path, f"size mismatch: {size} bytes, expected {nbytes} for this {what}")
    return path.read_bytes()


def read_raw_frame(path: Path, width: int, height: int) -> np.ndarray:
    raw = _read_exact(Path(path), width * height * 12, f"{width}x{height} RGB float32 frame")
    return check_frame_values(np.frombuffer(raw, np.float32).reshape(height, width, 3), path)


def read_mask(path: Path, width: int, height: int) -> np.ndarray:
    raw = np.frombuffer(_read_exact(Path(path), width * height, f"{width}x{height} int8 mask"), np.int8)
    bad = (raw != MASK_VALID) & (raw != MASK_INVALID)
    if bad.any():
        raise FormatError(path, f"mask value {int(raw[bad][0])} is neither 127 (valid) nor -1 (invalid)")
    return (raw == MASK_VALID).reshape(height, width)


def hprc_file_names(level: str, lid: int, t: float, width: int, height: int) -> tuple[str, str]:
    key = time_key(t)
    stem = f"Dilate_HQ_Lightmap_{lid}_0_{key}_0_{level}_BuiltData_TOD_{key}_{width}_{height}.bin_0"
    return f"lightmapRawData_{stem}", f"lightmapCoverage_{stem}"


def write_hprc(root: str | os.PathLike, sets: Iterable[LightmapSet]) -> Path:
    """Write sets (streamed, one at a time) as a Data_HPRC folder; all or nothing."""
    root = Path(root)
    with atomic_directory(root) as tmp:
        (tmp / "Data").mkdir()
        listing = []
        for lm in sets:
            frames, masks = {}, {}
            for i, t in enumerate(lm.times):
                raw_name, mask_name = hprc_file_names(lm.level, lm.id, t, lm.width, lm.height)
                key = time_key(t)
                if key in frames:
                    raise FormatError(root, f"times {t} of {lm.name} collide in the HPRC key {key}")
                np.ascontiguousarray(lm.frames[i], np.float32).tofile(tmp / "Data" / raw_name)
                np.where(lm.masks[i], MASK_VALID, MASK_INVALID).astype(np.int8).tofile(tmp / "Data" / mask_name)
                frames[key], masks[key] = raw_name, mask_name
            listing.append({"id": int(lm.id), "level": lm.level,
                            "resolution": {"width": lm.width, "height": lm.height},
                            "lightmaps": frames, "masks": masks})
        config = {"lightmap_count": len(listing), "lightmap_list": listing}
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
    return root
