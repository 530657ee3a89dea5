"""Radiance RGBE (.hdr) frames: header, then RLE or flat scanlines of shared-exponent RGB."""

import os
import re
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes
from .errors import FormatError

_SIZE = re.compile(rb"^-Y (\d+) \+X (\d+)$")


def read_hdr(path: str | os.PathLike) -> np.ndarray:
    """float32 [H,W,3] linear RGB; only the standard top-down "-Y H +X W" orientation."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "missing .hdr file")
    data = path.read_bytes()
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        raise FormatError(path, "not a Radiance .hdr file (no '#?RADIANCE' signature)")
    end = data.find(b"\n\n")
    if end < 0:
        raise FormatError(path, "truncated header (no blank line)")
    for line in data[:end].split(b"\n")[1:]:
        if line.startswith(b"FORMAT=") and line.strip() != b"FORMAT=32-bit_rle_rgbe":
            raise FormatError(path, f"unsupported pixel format {line.decode(errors='replace')}")
    nl = data.find(b"\n", end + 2)
    size = _SIZE.match(data[end + 2: nl if nl >= 0 else len(data)].strip())
    if not size:
        raise FormatError(path, "unsupported or missing resolution line (expected '-Y H +X W')")
    height, width = int(size.group(1)), int(size.group(2))
    if height * width * 4 > 64 * (len(data) + 64):  # RLE cannot compress better than 1:64
        raise FormatError(path, f"declared size {width}x{height} does not fit a {len(data)}-byte file")
    rgbe = _decode_scanlines(memoryview(data)[nl + 1:], width, height, path)
    mantissa = rgbe[..., :3].astype(np.float32) + 0.5
    exponent = rgbe[..., 3].astype(np.int32)
    scale = np.where(exponent == 0, 0.0, np.ldexp(1.0, exponent - 136)).astype(np.float32)
    return mantissa * scale[..., None]


def _decode_scanlines(buf: memoryview, width: int, height: int, path) -> np.ndarray:
    out = np.empty((height, width, 4), np.uint8)
    pos, n = 0, len(buf)
    for y in range(height):
        if pos + 4 > n:
            raise FormatError(path, f"truncated at scanline {y}")
        head = bytes(buf[pos:pos + 4])
        if 8 <= width < 32768 and head[0] == 2 and head[1] == 2 and head[2] < 128:
            if (head[2] << 8 | head[3]) != width:
                raise FormatError(path, f"scanline {y} length does not match width {width}")
            pos += 4
            for c in range(4):
                x = 0
                row = out[y, :, c]
                while x < width:
                    if pos >= n:
                        raise FormatError(path, f"truncated at scanline {y}")
                    count = buf[pos]
                    if count > 128:
                        count -= 128
                        if pos + 1 >= n:
                            raise FormatError(path, f"truncated at scanline {y}")
                        if x + count > width:
                            raise FormatError(path, f"bad run at scanline {y}")
                        row[x:x + count] = buf[pos + 1]
                        pos += 2
                    else:
                        if pos + 1 + count > n:
                            raise FormatError(path, f"truncated at scanline {y}")
                        if count == 0 or x + count > width:
                            raise FormatError(path, f"bad run at scanline {y}")
                        row[x:x + count] = np.frombuffer(buf[pos + 1:pos + 1 + count], np.uint8)
                        pos += 1 + count
                    x += count
        else:
            if pos + 4 * width > n:
                raise FormatError(path, f"truncated at scanline {y}")
            out[y] = np.frombuffer(buf[pos:pos + 4 * width], np.uint8).reshape(width, 4)
            pos += 4 * width
    return out


def encode_rgbe(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame, np.float32)
    peak = frame.max(axis=-1)
    mant, exp = np.frexp(peak)
    nonzero = peak > 1e-32
    scale = np.where(nonzero, mant * 256.0 / np.where(nonzero, peak, 1.0), 0.0)
    rgbe = np.zeros(frame.shape[:2] + (4,), np.uint8)
    rgbe[..., :3] = np.clip(np.floor(frame * scale[..., None]), 0, 255)
    rgbe[..., 3] = np.where(nonzero, np.clip(exp + 128, 0, 255), 0)
    return rgbe


def write_hdr(path: str | os.PathLike, frame: np.ndarray) -> None:
    """RLE scanlines made of literal chunks only: valid for every reader, never ambiguous."""
    frame = np.asarray(frame, np.float32)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise FormatError(path, f"an .hdr frame must be [H,W,3], got {frame.shape}")
    height, width = frame.shape[:2]
    rgbe = encode_rgbe(frame)
    parts = [b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n", f"-Y {height} +X {width}\n".encode()]
    rle = 8 <= width < 32768
    for y in range(height):
        if not rle:
            parts.append(rgbe[y].tobytes())
            continue
        parts.append(bytes([2, 2, width >> 8, width & 255]))
        for c in range(4):
            row = rgbe[y, :, c].tobytes()
            for x in range(0, width, 128):
                chunk = row[x:x + 128]
                parts.append(bytes([len(chunk)]) + chunk)
    atomic_write_bytes(path, b"".join(parts))
