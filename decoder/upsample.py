"""Bilinear sampling of low-resolution images at every texel of a row range, vectorised in
numpy (the texel-centre convention of MODEL.md, step 1): what the knot cache adds into its
planes, and what the reference samples."""

import numpy as np


def axis_taps(pos: np.ndarray, texels: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel positions onto cell centres: lower cell index (int64) and the upper cell's weight."""
    g = np.clip((np.asarray(pos, np.float64) + 0.5) * (cells / texels) - 0.5, 0.0, cells - 1.0)
    i0 = np.minimum(np.floor(g), cells - 2)
    return i0.astype(np.int64), g - i0


def upsample_rows(image: np.ndarray, first: int, stop: int, height: int, width: int) -> np.ndarray:
    """image [rows, cols, C] sampled at texel rows first..stop-1 and every column: [stop - first, width, C]."""
    rows, cols = image.shape[:2]
    y0, fy = axis_taps(np.arange(first, stop), height, rows)
    x0, fx = axis_taps(np.arange(width), width, cols)
    fy, fx = fy[:, None, None], fx[None, :, None]
    column = image[y0] * (1.0 - fy) + image[y0 + 1] * fy  # [n, cols, C]
    return (column[:, x0] * (1.0 - fx) + column[:, x0 + 1] * fx).astype(np.float32)
