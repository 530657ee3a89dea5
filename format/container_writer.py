"""Writing .tlm containers (spec: FORMAT.md): sections stream to a spool file, then header,
table of contents and data are assembled into a temporary file that is renamed into place."""

import json
import shutil
import tempfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Iterable

import numpy as np
import zstandard

from .atomic import atomic_path
from .container import (CODECS, DTYPES, HEADER, MAGIC, MAJOR, MAX_ZSTD_EXPANSION, MINOR, SECTION_NAME, ZSTD_SLACK,
                        Container, align, header_crc)
from .dtypes import to_bytes
from .errors import FormatError


def producer_string() -> str:
    try:
        return f"todlm {pkg_metadata.version('todlm')}"
    except pkg_metadata.PackageNotFoundError:
        return "todlm"


@dataclass
class Tensor:
    array: np.ndarray
    codec: str = "raw"  # raw, zstd, or auto: zstd where that stores fewer bytes, else raw
    level: int = 19  # zstd level, when codec is zstd or auto
    quant: dict | None = None  # FORMAT.md "quant" entry, e.g. AffineQuant.to_json()
    dtype: str | None = None  # the stored type when it differs from the array's: "uint4" packs uint8 0..15
    extra: dict = field(default_factory=dict)  # unknown keys, kept as they came


@dataclass
class LightmapRecord:
    level: str
    id: int
    width: int
    height: int
    times: list[float]
    tensors: dict[str, Tensor]
    metadata: dict = field(default_factory=dict)
    name: str | None = None
    extra: dict = field(default_factory=dict)


def _encode(name: str, t: Tensor, where) -> tuple[bytes, dict]:
    if not SECTION_NAME.fullmatch(name):
        raise FormatError(where, f"bad section name {name!r}")
    array = np.asarray(t.array)
    dtype = t.dtype or array.dtype.name
    if dtype not in DTYPES:
        raise FormatError(where, f"section {name!r}: dtype {dtype} is not one of {sorted(DTYPES)}")
    if t.codec not in (*CODECS, "auto"):
        raise FormatError(where, f"section {name!r}: unknown codec {t.codec!r}")
    try:
        raw = to_bytes(array, dtype)
    except ValueError as exc:
        raise FormatError(where, f"section {name!r}: {exc}") from None
    entry = {"dtype": dtype, "shape": [int(d) for d in array.shape], "codec": "raw"}
    stored = raw
    if t.codec in ("zstd", "auto"):
        packed = zstandard.ZstdCompressor(level=t.level, write_content_size=True).compress(raw)
        readable = len(raw) <= MAX_ZSTD_EXPANSION * len(packed) + ZSTD_SLACK  # the reader's bomb guard
        if t.codec == "zstd" or (len(packed) < len(raw) and readable):
            entry.update(codec="zstd", level=int(t.level))
            stored = packed
    entry.update({"offset": None, "length": len(stored), "crc32": zlib.crc32(raw)})
    if t.quant is not None:
        entry["quant"] = t.quant
    entry.update({k: v for k, v in t.extra.items() if k not in entry})
    return stored, entry


def write_container(path, lightmaps: Iterable[LightmapRecord], metadata: dict | None = None,
                    producer: str | None = None, version: tuple[int, int] = (MAJOR, MINOR),
                    extra: dict | None = None) -> Path:
    """Write (all or nothing) and re-open to prove the result reads back."""
    path = Path(path)
    if version[0] != MAJOR:
        raise FormatError(path, f"cannot write major version {version[0]}")
    entries = []
    with tempfile.TemporaryFile() as spool:
        offset = 0
        for record in lightmaps:
            sections = {}
            for name, tensor in record.tensors.items():
                stored, entry = _encode(name, tensor, path)
                spool.write(b"\0" * (align(offset) - offset))
                offset = align(offset)
                entry["offset"] = offset
                spool.write(stored)
                offset += len(stored)
                sections[name] = entry
            lm = {"level": record.level, "id": record.id}
            if record.name is not None:
                lm["name"] = record.name
            lm.update({"width": record.width, "height": record.height,
                       "times": [float(t) for t in record.times], "metadata": record.metadata,
                       "sections": sections})
            lm.update({k: v for k, v in record.extra.items() if k not in lm})
            entries.append(lm)
        toc = {"producer": producer if producer is not None else producer_string(),
               "metadata": metadata or {}, "lightmaps": entries}
        toc.update({k: v for k, v in (extra or {}).items() if k not in toc})
        try:
            toc_bytes = json.dumps(toc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise FormatError(path, f"metadata is not plain JSON ({exc})") from None
        data_offset = align(HEADER.size + len(toc_bytes))
        file_length = data_offset + offset
        header = HEADER.pack(MAGIC, version[0], version[1], 0, len(toc_bytes), file_length)
        header = HEADER.pack(MAGIC, version[0], version[1], header_crc(header, toc_bytes), len(toc_bytes),
                             file_length)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as out:
                out.write(header + toc_bytes + b"\0" * (data_offset - HEADER.size - len(toc_bytes)))
                spool.seek(0)
                shutil.copyfileobj(spool, out, 1 << 20)
            with Container.open(tmp) as check:
                check.verify()
    return path


