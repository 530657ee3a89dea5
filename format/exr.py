"""OpenEXR frames (RGB or RGBA, half or float); alpha is dropped: it is not a coverage mask."""

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import FormatError
from .lightmap_set import check_frame_values


def read_exr(path: str | os.PathLike) -> np.ndarray:
    """float32 [H,W,3] linear RGB."""
    import OpenEXR

    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "missing EXR file")
    try:
        with OpenEXR.File(str(path)) as exr:
            channels = exr.channels()
            if "RGB" in channels or "RGBA" in channels:
                rgb = channels.get("RGB") or channels["RGBA"]
                pixels = np.asarray(rgb.pixels)[..., :3]
            elif all(c in channels for c in "RGB"):
                pixels = np.stack([np.asarray(channels[c].pixels) for c in "RGB"], axis=-1)
            else:
                raise FormatError(path, f"no R, G, B channels (has {sorted(channels)})")
    except FormatError:
        raise
    except Exception as exc:  # OpenEXR raises bare RuntimeErrors/TypeErrors on corrupt files
        raise FormatError(path, f"not a readable EXR ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise FormatError(path, f"unexpected pixel layout {pixels.shape}")
    return check_frame_values(np.ascontiguousarray(pixels, dtype=np.float32), path)


def write_exr(path: str | os.PathLike, frame: np.ndarray, half: bool = False) -> None:
    import OpenEXR

    frame = np.ascontiguousarray(frame, dtype=np.float16 if half else np.float32)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise FormatError(path, f"an EXR frame must be [H,W,3], got {frame.shape}")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with atomic_path(path) as tmp:
        with OpenEXR.File(header, {"RGB": frame}) as exr:
            exr.write(str(tmp))
