"""A folder of frames (EXR or .hdr) whose times come from a small manifest.json.

    {"name": "courtyard", "level": "L_Courtyard", "id": 0,
     "mask": "mask.png",                       # optional, for every frame
     "frames": [{"time": 13.5, "file": "t1350.exr",
                 "mask": "m1350.png",          # optional, overrides the shared mask
                 "lamps": false}]}             # optional, default: on for t < 6 and t > 18

Paths are relative to the manifest (absolute ones are allowed, so a manifest can describe
frames that live elsewhere). Masks are .png or .npy, non-zero = valid; with no mask at all a
texel is valid where any frame is non-zero (how engines mark empty atlas space).
"""

import json
import os
from pathlib import Path

import numpy as np

from .atomic import atomic_directory
from .errors import FormatError, load_json_file
from .exr import read_exr, write_exr
from .lightmap_set import LightmapSet, coverage_from_values
from .radiance import read_hdr, write_hdr
from .times import check_time, lamps_on, time_key

FRAME_READERS = {".exr": read_exr, ".hdr": read_hdr}


def read_frame(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    reader = FRAME_READERS.get(path.suffix.lower())
    if reader is None:
        raise FormatError(path, f"unsupported frame format {path.suffix!r} (use .exr or .hdr)")
    return reader(path)


def read_mask_image(path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "missing mask file")
    try:
        if path.suffix.lower() == ".npy":
            mask = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".png":
            from PIL import Image

            with Image.open(path) as img:
                mask = np.asarray(img.convert("L"))
        else:
            raise FormatError(path, f"unsupported mask format {path.suffix!r} (use .png or .npy)")
    except FormatError:
        raise
    except Exception as exc:
        raise FormatError(path, f"not a readable mask ({type(exc).__name__}: {exc})") from None
    if mask.shape != shape:
        raise FormatError(path, f"size mismatch: mask is {mask.shape}, frames are {shape}")
    return mask != 0


def read_sequence(manifest: str | os.PathLike) -> LightmapSet:
    manifest = Path(manifest)
    if manifest.is_dir():
        manifest = manifest / "manifest.json"
    spec = load_json_file(manifest, "manifest.json")
    entries = spec.get("frames") if isinstance(spec, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FormatError(manifest, "no 'frames' list")
    base = manifest.parent
    frames, times, masks, lamps = [], [], [], []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "file" not in entry or "time" not in entry:
            raise FormatError(manifest, f"frames[{i}] needs 'file' and 'time'")
        times.append(check_time(entry["time"], manifest))
        path = base / entry["file"]
        frame = read_frame(path)
        if frames and frame.shape != frames[0].shape:
            raise FormatError(path, f"size mismatch: {frame.shape[1]}x{frame.shape[0]}, "
                                    f"first frame is {frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(frame)
        mask_name = entry.get("mask", spec.get("mask"))
        masks.append(None if mask_name is None else read_mask_image(base / mask_name, frame.shape[:2]))
        lamps.append(entry.get("lamps"))
    stack = np.stack(frames)
    default = coverage_from_values(stack)[0] if any(m is None for m in masks) else None
    mask_stack = np.stack([default if m is None else m for m in masks])
    lamp_arr = None
    if any(v is not None for v in lamps):
        lamp_arr = np.array([lamps_on(t) if v is None else bool(v) for t, v in zip(times, lamps)])
    lid = spec.get("id", 0)
    if not isinstance(lid, int) or isinstance(lid, bool):
        raise FormatError(manifest, f"id must be an integer, got {lid!r}")
    return LightmapSet(stack, np.array(times), mask_stack, lamp_arr,
                       name=str(spec.get("name", manifest.parent.name)),
                       level=str(spec.get("level", manifest.parent.name)),
                       id=lid, source=str(manifest)).sorted_by_time()


def write_sequence(folder: str | os.PathLike, lm: LightmapSet, fmt: str = "exr") -> Path:
    """Frames as t<key>.<fmt> plus one mask.png (or one per time if masks differ)."""
    if fmt not in ("exr", "hdr"):
        raise FormatError(folder, f"unsupported frame format {fmt!r}")
    from PIL import Image

    folder = Path(folder)
    shared = bool((lm.masks == lm.masks[:1]).all())
    with atomic_directory(folder) as tmp:
        spec = {"name": lm.name, "level": lm.level, "id": int(lm.id), "frames": []}
        if shared:
            Image.fromarray(lm.masks[0].astype(np.uint8) * 255).save(tmp / "mask.png")
            spec["mask"] = "mask.png"
        for i, t in enumerate(lm.times):
            name = f"t{time_key(t)}.{fmt}"
            (write_exr if fmt == "exr" else write_hdr)(tmp / name, lm.frames[i])
            entry = {"time": float(t), "file": name, "lamps": bool(lm.lamps[i])}
            if not shared:
                entry["mask"] = f"mask{time_key(t)}.png"
                Image.fromarray(lm.masks[i].astype(np.uint8) * 255).save(tmp / entry["mask"])
            spec["frames"].append(entry)
        (tmp / "manifest.json").write_text(json.dumps(spec, indent=1))
    return folder
