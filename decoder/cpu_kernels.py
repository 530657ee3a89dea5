"""CPU kernels (numba): texels are processed a row (or a chunk of samples) at a time, valid
texels only, with the layers as small matrix products whose inner loop runs over texels, so
it vectorises. Scratch is hidden x row-length per thread, never H x W x hidden."""

import math

import numpy as np
from numba import njit, prange


@njit(inline="always", fastmath=True)
def _taps(pos, texels, cells):
    g = (pos + 0.5) * (cells / texels) - 0.5
    g = min(max(g, 0.0), cells - 1.0)
    i0 = min(math.floor(g), cells - 2)
    return int(i0), g - i0


@njit(inline="always", fastmath=True)
def _inverse(y, value):
    kind, gamma, mu, scale = int(value[0]), value[1], value[2], value[3]
    y = max(y, 0.0)
    if kind == 1:
        x = y ** gamma if y > 0.0 else 0.0
    elif kind == 2:
        x = math.expm1(y)
    elif kind == 3:
        x = math.expm1(y * math.log1p(mu)) / mu
    else:
        x = y
    return x * scale


@njit(fastmath=True)
def _points(ys, xs, tb_index, tb_table, n, width, height, proj, proj_meta, n0, first_relu, base_data, has_base,
            w_data, layer_meta, value, max_width, result):
    """result[k, :] = linear RGB of texel (ys[k], xs[k]) at the time whose first-layer bias is
    tb_table[tb_index[k]], for k < n."""
    a = np.empty((max_width, n), np.float32)
    b = np.empty((max_width, n), np.float32)
    acc = np.empty(n0, np.float32)
    for k in range(n):
        y, x = ys[k], xs[k]
        tb = tb_table[tb_index[k]]
        for o in range(n0):
            acc[o] = tb[o]
        for level in range(proj_meta.shape[0]):
            off, rows, cols = proj_meta[level, 0], proj_meta[level, 1], proj_meta[level, 2]
            y0, fy = _taps(y, height, rows)
            x0, fx = _taps(x, width, cols)
            p00 = off + (y0 * cols + x0) * n0
            p10 = p00 + cols * n0
            w00, w01 = (1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx
            w10, w11 = fy * (1.0 - fx), fy * fx
            for o in range(n0):
                acc[o] += (w00 * proj[p00 + o] + w01 * proj[p00 + n0 + o]
                           + w10 * proj[p10 + o] + w11 * proj[p10 + n0 + o])
        for o in range(n0):
            a[o, k] = max(acc[o], 0.0) if first_relu else acc[o]
    src, dst = a, b
    for layer in range(layer_meta.shape[0]):
        w_off, b_off, n_out, n_in, relu = (layer_meta[layer, 0], layer_meta[layer, 1], layer_meta[layer, 2],
                                           layer_meta[layer, 3], layer_meta[layer, 4])
        for o in range(n_out):
            bias = w_data[b_off + o]
            row = dst[o]
            for k in range(n):
                row[k] = bias
            for i in range(n_in):
                wv = w_data[w_off + o * n_in + i]
                s = src[i]
                for k in range(n):
                    row[k] += wv * s[k]
            if relu:
                for k in range(n):
                    row[k] = max(row[k], 0.0)
        src, dst = dst, src
    brows, bcols = base_data.shape[0], base_data.shape[1]
    for k in range(n):
        y, x = ys[k], xs[k]
        if has_base:
            y0, fy = _taps(y, height, brows)
            x0, fx = _taps(x, width, bcols)
        for c in range(3):
            v = src[c, k]
            if has_base:
                v += ((1.0 - fy) * ((1.0 - fx) * base_data[y0, x0, c] + fx * base_data[y0, x0 + 1, c])
                      + fy * ((1.0 - fx) * base_data[y0 + 1, x0, c] + fx * base_data[y0 + 1, x0 + 1, c]))
            result[k, c] = _inverse(v, value)


@njit(parallel=True, fastmath=True, cache=True)
def decode_frame_cpu(out, tb, mask, proj, proj_meta, n0, first_relu, base_data, has_base, w_data, layer_meta, value,
                     max_width):
    """out: [H, W, 3] float32, written whole (masked texels 0); tb: the frame's time bias."""
    height, width = out.shape[0], out.shape[1]
    tb_table = tb.reshape(1, -1)
    for y in prange(height):
        xs = np.empty(width, np.int64)
        n = 0
        for x in range(width):
            if mask[y, x]:
                xs[n] = x
                n += 1
            else:
                out[y, x, 0] = 0.0
                out[y, x, 1] = 0.0
                out[y, x, 2] = 0.0
        if n == 0:
            continue
        ys = np.full(n, y, np.int64)
        result = np.empty((n, 3), np.float32)
        _points(ys, xs, np.zeros(n, np.int64), tb_table, n, width, height, proj, proj_meta, n0, first_relu,
                base_data, has_base, w_data, layer_meta, value, max_width, result)
        for k in range(n):
            out[y, xs[k], 0] = result[k, 0]
            out[y, xs[k], 1] = result[k, 1]
            out[y, xs[k], 2] = result[k, 2]


@njit(parallel=True, fastmath=True, cache=True)
def sample_cpu(out, ys, xs, tb_index, tb_table, mask, proj, proj_meta, n0, first_relu, base_data, has_base, w_data,
               layer_meta, value, max_width):
    """out: [N, 3]; sample n is texel (ys[n], xs[n]) at the time whose first-layer bias is
    tb_table[tb_index[n]]; masked texels give 0."""
    height, width = mask.shape[0], mask.shape[1]
    total = ys.shape[0]
    chunk = 512
    for c in prange((total + chunk - 1) // chunk):
        start, stop = c * chunk, min(total, (c + 1) * chunk)
        keep = np.empty(stop - start, np.int64)
        n = 0
        for k in range(start, stop):
            if mask[ys[k], xs[k]]:
                keep[n] = k
                n += 1
            else:
                out[k, 0] = 0.0
                out[k, 1] = 0.0
                out[k, 2] = 0.0
        if n == 0:
            continue
        sy, sx, si = ys[keep[:n]], xs[keep[:n]], tb_index[keep[:n]]
        result = np.empty((n, 3), np.float32)
        _points(sy, sx, si, tb_table, n, width, height, proj, proj_meta, n0, first_relu, base_data, has_base,
                w_data, layer_meta, value, max_width, result)
        for k in range(n):
            out[keep[k], 0] = result[k, 0]
            out[keep[k], 1] = result[k, 1]
            out[keep[k], 2] = result[k, 2]
