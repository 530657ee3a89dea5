"""Element types of stored sections: numpy's little-endian types plus `uint4`, which numpy lacks
(two values per byte, the even element in the low nibble), so 4-bit grids cost 4 bits."""

import math

import numpy as np

NUMPY = {"uint4": np.uint8, "uint8": np.uint8, "uint16": np.uint16, "int8": np.int8, "float16": np.float16,
         "float32": np.float32}  # the in-memory type of each stored type
BITS = {"uint4": 4, "uint8": 8, "uint16": 16, "int8": 8, "float16": 16, "float32": 32}


def stored_nbytes(dtype: str, shape) -> int:
    return (math.prod(shape) * BITS[dtype] + 7) // 8  # Python ints: no overflow


def to_bytes(array: np.ndarray, dtype: str) -> bytes:
    """Raises ValueError when the array does not fit the stored type."""
    if dtype != "uint4":
        return np.ascontiguousarray(array, dtype=np.dtype(NUMPY[dtype]).newbyteorder("<")).tobytes()
    flat = np.asarray(array).reshape(-1)
    if flat.dtype != np.uint8 or (flat.size and int(flat.max()) > 15):
        raise ValueError("uint4 needs a uint8 array of values 0..15")
    padded = np.zeros(flat.size + flat.size % 2, np.uint8)
    padded[:flat.size] = flat
    return (padded[0::2] | (padded[1::2] << 4)).tobytes()


def from_bytes(data, dtype: str, shape) -> np.ndarray:
    """The array of stored bytes (a view, except for uint4); raises ValueError when a uint4
    section's unused last nibble is not zero."""
    if dtype != "uint4":
        return np.frombuffer(data, dtype=np.dtype(NUMPY[dtype]).newbyteorder("<")).reshape(shape)
    packed = np.frombuffer(data, np.uint8)
    n = math.prod(shape)
    if n % 2 and packed[-1] >> 4:
        raise ValueError("the unused high nibble of the last uint4 byte is not zero")
    values = np.empty(packed.size * 2, np.uint8)
    values[0::2], values[1::2] = packed & 0x0F, packed >> 4
    return values[:n].reshape(shape)
