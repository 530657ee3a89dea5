"""A .tlm reader written from format/FORMAT.md alone (no todlm imports): if the spec is
enough to reimplement from, this agrees with the library on every file the library writes."""

import json
import struct
import zlib

import numpy as np
import zstandard

PACKED_BITS = {f"uint{b}": b for b in range(1, 8)}
DTYPES = {"uint8": "<u1", "uint16": "<u2", "int8": "<i1", "float16": "<f2", "float32": "<f4"}


def read_tlm(data: bytes) -> dict:
    """{"version", "toc", "tensors": {(level, id): {name: values after dequantisation}}}."""
    magic, major, minor, crc, toc_len, file_len = struct.unpack("<8sHHIQQ", data[:32])
    assert magic == b"\x89TLM\r\n\x1a\n" and major == 1 and file_len == len(data)
    toc_bytes = data[32:32 + toc_len]
    assert zlib.crc32(data[:12] + data[16:32] + toc_bytes) == crc
    toc = json.loads(toc_bytes)
    data_offset = (32 + toc_len + 63) // 64 * 64
    tensors = {}
    for lm in toc["lightmaps"]:
        out = tensors[(lm["level"], lm["id"])] = {}
        for name, s in lm["sections"].items():
            assert s["offset"] % 64 == 0
            stored = data[data_offset + s["offset"]:data_offset + s["offset"] + s["length"]]
            raw = stored if s["codec"] == "raw" else zstandard.ZstdDecompressor().decompress(stored)
            assert zlib.crc32(raw) == s["crc32"]
            if s["dtype"] in PACKED_BITS:  # b-bit elements end to end, least significant bit first
                b, n = PACKED_BITS[s["dtype"]], int(np.prod(s["shape"]))
                padded = np.frombuffer(raw + b"\0", "<u1").astype(np.uint16)
                first = np.arange(n) * b  # first bit of each element; b <= 7 spans at most 2 bytes
                window = padded[first // 8] | (padded[first // 8 + 1] << 8)
                q = ((window >> (first % 8)) & ((1 << b) - 1)).astype(np.uint8).reshape(s["shape"])
            else:
                q = np.frombuffer(raw, DTYPES[s["dtype"]]).reshape(s["shape"])
            quant = s.get("quant")
            if quant is None or quant["scheme"] == "float16":
                out[name] = q.astype(np.float32)
            else:
                shape = [1] * q.ndim
                shape[quant["axis"]] = -1
                zp = np.array(quant["zero_point"], np.float32).reshape(shape)
                scale = np.array(quant["scale"], np.float32).reshape(shape)
                out[name] = (q.astype(np.float32) - zp) * scale
    return {"version": (major, minor), "toc": toc, "tensors": tensors}
