"""Reading .tlm containers (spec: FORMAT.md): validated once at open, sections decoded lazily.

Raw sections are zero-copy views of a memory map; a zstd section is decompressed only when
asked for, so reading one lightmap of a level never touches the others' bytes.
"""

import json
import mmap
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zstandard

from .dtypes import NUMPY, from_bytes, stored_nbytes
from .errors import FormatError
from .quant import dequantize, quant_from_json

MAGIC = b"\x89TLM\r\n\x1a\n"
HEADER = struct.Struct("<8sHHIQQ")  # magic, major, minor, crc32, toc_length, file_length
MAJOR, MINOR = 1, 0
ALIGN = 64
MAX_TOC = 64 << 20
MAX_ZSTD_EXPANSION = 1024
ZSTD_SLACK = 64 << 10
DTYPES = NUMPY
CODECS = ("raw", "zstd")
SECTION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class ContainerError(FormatError):
    """A .tlm file that is truncated, corrupt or not a .tlm at all."""


def header_crc(header: bytes, toc: bytes) -> int:
    """CRC-32 of the header without its own crc field (bytes 12..15), then the TOC."""
    return zlib.crc32(toc, zlib.crc32(header[16:32], zlib.crc32(header[:12])))


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Section:
    name: str
    dtype: str
    shape: tuple[int, ...]
    codec: str
    offset: int  # absolute, in the file
    length: int  # stored bytes
    crc32: int
    quant: object  # AffineQuant, "float16" or None
    entry: dict  # the TOC entry as read, unknown keys included

    @property
    def nbytes(self) -> int:
        return stored_nbytes(self.dtype, self.shape)


def parse_section(name, entry, data_offset: int, file_length: int, where) -> Section:
    where = f"{where}, section {name!r}"
    if not isinstance(name, str) or not SECTION_NAME.fullmatch(name):
        raise ContainerError(where, "bad section name")
    if not isinstance(entry, dict):
        raise ContainerError(where, "entry must be an object")
    dtype, shape, codec = entry.get("dtype"), entry.get("shape"), entry.get("codec")
    offset, length, crc = entry.get("offset"), entry.get("length"), entry.get("crc32")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ContainerError(where, f"unknown dtype {dtype!r}")
    if not isinstance(codec, str) or codec not in CODECS:
        raise ContainerError(where, f"unknown codec {codec!r}")
    if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) and 0 <= d < 1 << 40 for d in shape):
        raise ContainerError(where, f"bad shape {shape!r}")
    if not all(_is_int(v) and v >= 0 for v in (offset, length, crc)) or crc > 0xFFFFFFFF:
        raise ContainerError(where, "offset, length and crc32 must be non-negative integers")
    if offset % ALIGN:
        raise ContainerError(where, f"offset {offset} is not a multiple of {ALIGN}")
    start = data_offset + offset
    if start + length > file_length:
        raise ContainerError(where, f"bytes {start}..{start + length} lie beyond the end of the file ({file_length})")
    try:
        quant = quant_from_json(entry.get("quant"), dtype, shape, where)
    except FormatError as exc:
        raise ContainerError(exc.path, exc.problem) from None
    section = Section(name, dtype, tuple(shape), codec, start, length, crc, quant, entry)
    nbytes = section.nbytes
    if codec == "raw" and length != nbytes:
        raise ContainerError(where, f"raw length {length} but shape {shape} x {dtype} is {nbytes} bytes")
    if codec == "zstd" and nbytes > MAX_ZSTD_EXPANSION * length + ZSTD_SLACK:
        raise ContainerError(where, f"declares {nbytes} bytes from a {length}-byte zstd stream")
    return section


class LightmapEntry:
    """One lightmap's model: its TOC entry and lazy access to its sections."""

    def __init__(self, container: "Container", index: int, entry: dict, sections: dict[str, Section]):
        self._container = container
        self.index = index
        self.entry = entry
        self.sections = sections
        self.level: str = entry["level"]
        self.id: int = entry["id"]
        self.name: str = entry.get("name", f"{self.level}/{self.id}")
        self.width: int = entry["width"]
        self.height: int = entry["height"]
        self.times: list[float] = entry["times"]
        self.metadata: dict = entry.get("metadata", {})

    def array(self, name: str) -> np.ndarray:
        """The stored tensor (read-only; a view into the file for raw sections)."""
        if name not in self.sections:
            raise ContainerError(self._container.path, f"lightmap {self.name!r} has no section {name!r}")
        return self._container.read_section(self.sections[name])

    def dequantized(self, name: str) -> np.ndarray:
        return dequantize(self.array(name), self.sections[name].quant)

    @property
    def stored_bytes(self) -> int:
        return sum(s.length for s in self.sections.values())

    @property
    def raw_bytes(self) -> int:
        return sum(s.nbytes for s in self.sections.values())


class Container:
    """A .tlm file opened for reading: `Container.open(path_or_bytes)`; use as a context manager."""

    def __init__(self, buffer, path: str | None, mapped: mmap.mmap | None = None):
        self.path = path
        self._buf = memoryview(buffer)
        self._mmap = mapped
        self._verified: set[int] = set()
        try:
            self._parse()
        except BaseException:
            self._buf.release()
            raise

    @classmethod
    def open(cls, source) -> "Container":
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls(bytes(source), None)
        path = Path(source)
        if not path.is_file():
            raise ContainerError(path, "is a folder, not a container file" if path.is_dir() else "no such container file")
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < HEADER.size:
                raise ContainerError(path, f"truncated: {size} bytes, the header alone needs {HEADER.size}")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return cls(mapped, str(path), mapped)
        except BaseException:
            mapped.close()
            raise

    def close(self) -> None:
        self._buf.release()
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:  # numpy views still alive: the map closes when they go
                pass

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fail(self, problem: str):
        raise ContainerError(self.path, problem)

    def _parse(self) -> None:
        buf, size = self._buf, len(self._buf)
        if size < HEADER.size:
            self._fail(f"truncated: {size} bytes, the header alone needs {HEADER.size}")
        magic, major, minor, toc_crc, toc_len, file_len = HEADER.unpack_from(buf, 0)
        if magic != MAGIC:
            self._fail("not a .tlm container (wrong magic)")
        if major != MAJOR:
            self._fail(f"unsupported major version {major} (this reader knows {MAJOR}.x)")
        if file_len != size:
            self._fail(f"truncated or extended: the header says {file_len} bytes, the file has {size}")
        if toc_len > MAX_TOC or HEADER.size + toc_len > size:
            self._fail(f"table of contents length {toc_len} does not fit the file")
        toc_bytes = bytes(buf[HEADER.size:HEADER.size + toc_len])
        if header_crc(bytes(buf[:HEADER.size]), toc_bytes) != toc_crc:
            self._fail("checksum mismatch in the header or table of contents")
        try:
            toc = json.loads(toc_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            self._fail(f"table of contents is not valid JSON ({exc})")
        self.version = (major, minor)
        self.data_offset = align(HEADER.size + toc_len)
        self.toc_length = toc_len
        if not isinstance(toc, dict) or not isinstance(toc.get("lightmaps"), list):
            self._fail("table of contents lacks a 'lightmaps' list")
        if not isinstance(toc.get("metadata", {}), dict):
            self._fail("container 'metadata' must be an object")
        self.toc = toc
        self.metadata = toc.get("metadata", {})
        self.producer = toc.get("producer")
        self.lightmaps: list[LightmapEntry] = []
        spans = []
        for i, entry in enumerate(toc["lightmaps"]):
            self.lightmaps.append(self._parse_lightmap(i, entry, size))
            spans += [(s.offset, s.offset + s.length, s.name) for s in self.lightmaps[-1].sections.values()]
        spans.sort()
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
            if b0 < a1:
                self._fail(f"sections {an!r} and {bn!r} overlap")
        end = max((s[1] for s in spans), default=self.data_offset)
        if end != size:
            self._fail(f"file length {size} does not end at the last section ({end})")
        self._spans = spans
        self._index = {}
        for lm in self.lightmaps:
            if (lm.level, lm.id) in self._index:
                self._fail(f"lightmap ({lm.level!r}, {lm.id}) is listed twice")
            self._index[(lm.level, lm.id)] = lm

    def _parse_lightmap(self, i: int, entry, size: int) -> LightmapEntry:
        where = f"{self.path or '<bytes>'}: lightmaps[{i}]"
        if not isinstance(entry, dict):
            raise ContainerError(None, f"{where} must be an object")
        level, lid, w, h = entry.get("level"), entry.get("id"), entry.get("width"), entry.get("height")
        times, sections = entry.get("times"), entry.get("sections")
        if not isinstance(level, str) or not _is_int(lid):
            raise ContainerError(None, f"{where}: level must be a string and id an integer")
        if not (_is_int(w) and _is_int(h) and 0 < w <= 1 << 16 and 0 < h <= 1 << 16):
            raise ContainerError(None, f"{where}: bad width/height {w!r}x{h!r}")
        if not isinstance(times, list) or not times:
            raise ContainerError(None, f"{where}: 'times' must be a non-empty list of hours")
        for t in times:
            if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 24:
                raise ContainerError(None, f"{where}: time {t!r} is not a number of hours in [0, 24]")
        if not isinstance(sections, dict) or not isinstance(entry.get("metadata", {}), dict):
            raise ContainerError(None, f"{where}: 'sections' and 'metadata' must be objects")
        parsed = {n: parse_section(n, e, self.data_offset, size, where) for n, e in sections.items()}
        return LightmapEntry(self, i, entry, parsed)

    def lightmap(self, level: str | None = None, lid: int | None = None) -> LightmapEntry:
        """By (level, id); with no arguments, the only lightmap of a one-lightmap container."""
        if level is None and lid is None:
            if len(self.lightmaps) != 1:
                self._fail(f"holds {len(self.lightmaps)} lightmaps: name one by (level, id)")
            return self.lightmaps[0]
        found = self._index.get((level, lid))
        if found is None:
            self._fail(f"no lightmap ({level!r}, {lid})")
        return found

    def stored(self, section: Section) -> memoryview:
        return self._buf[section.offset:section.offset + section.length]

    def read_section(self, section: Section, verify: bool = True) -> np.ndarray:
        stored = self.stored(section)
        if section.codec == "raw":
            data = stored
        else:
            try:
                declared = zstandard.frame_content_size(stored)
            except zstandard.ZstdError as exc:
                self._fail(f"section {section.name!r}: not a zstd frame ({exc})")
            if declared != section.nbytes:
                self._fail(f"section {section.name!r}: zstd frame holds {declared} bytes, expected {section.nbytes}")
            try:
                data = zstandard.ZstdDecompressor().decompress(stored, max_output_size=section.nbytes)
            except zstandard.ZstdError as exc:
                self._fail(f"section {section.name!r}: corrupt zstd data ({exc})")
            if len(data) != section.nbytes:
                self._fail(f"section {section.name!r}: decoded {len(data)} bytes, expected {section.nbytes}")
        if verify and section.offset not in self._verified:
            if zlib.crc32(data) != section.crc32:
                self._fail(f"checksum mismatch in section {section.name!r}")
            self._verified.add(section.offset)
        try:
            return from_bytes(data, section.dtype, section.shape)
        except ValueError as exc:
            self._fail(f"section {section.name!r}: {exc}")

    def verify(self) -> None:
        """Decode every section and check every checksum and that all padding is zero."""
        for lm in self.lightmaps:
            for section in lm.sections.values():
                self._verified.discard(section.offset)
                self.read_section(section)
        gaps = [(HEADER.size + self.toc_length, self.data_offset)]
        ends = [self.data_offset] + [end for _, end, _ in self._spans]
        gaps += [(end, start) for end, (start, _, _) in zip(ends, self._spans)]
        for a, b in gaps:
            if any(self._buf[a:b]):
                self._fail(f"non-zero padding at bytes {a}..{b}")
