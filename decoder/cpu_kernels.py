"""CPU kernels (numba): one fused pass per texel — grid gathers, bilinear, MLP, baseline,
inverse value transform — rows in parallel, scratch per row, nothing of size H*W*hidden."""

import math

import numpy as np
from numba import njit, prange


@njit(inline="always", fastmath=True)
def _taps(pos, texels, cells):
    g = (pos + 0.5) * (cells / texels) - 0.5
    g = min(max(g, 0.0), cells - 1.0)
    i0 = min(math.floor(g), cells - 2)
    return int(i0), g - i0


@njit(fastmath=True)
def texel_value(y, x, tb, width, height, grid_data, grid_meta, channels, base_data, has_base, w_data,
                layer_meta, value, feat, h0, h1, out):
    """Writes the linear RGB value of texel (y, x) into out[0:3]; tb is the frame's first-layer
    time bias; feat, h0, h1 are scratch vectors."""
    levels = grid_meta.shape[0]
    for level in range(levels):
        off, rows, cols = grid_meta[level, 0], grid_meta[level, 1], grid_meta[level, 2]
        y0, fy = _taps(y, height, rows)
        x0, fx = _taps(x, width, cols)
        i00 = off + (y0 * cols + x0) * channels
        i10 = i00 + cols * channels
        w00, w01 = (1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx
        w10, w11 = fy * (1.0 - fx), fy * fx
        for c in range(channels):
            feat[level * channels + c] = (w00 * grid_data[i00 + c] + w01 * grid_data[i00 + channels + c]
                                          + w10 * grid_data[i10 + c] + w11 * grid_data[i10 + channels + c])
    n_layers = layer_meta.shape[0]
    for layer in range(n_layers):
        if layer == 0:
            _dense(layer_meta, layer, w_data, tb, feat, h0)
        elif layer % 2 == 1:
            _dense(layer_meta, layer, w_data, tb, h0, h1)
        else:
            _dense(layer_meta, layer, w_data, tb, h1, h0)
    src = h0 if n_layers % 2 == 1 else h1
    r, g, b = src[0], src[1], src[2]
    if has_base:
        rows, cols = base_data.shape[0], base_data.shape[1]
        y0, fy = _taps(y, height, rows)
        x0, fx = _taps(x, width, cols)
        for c in range(3):
            v = ((1.0 - fy) * ((1.0 - fx) * base_data[y0, x0, c] + fx * base_data[y0, x0 + 1, c])
                 + fy * ((1.0 - fx) * base_data[y0 + 1, x0, c] + fx * base_data[y0 + 1, x0 + 1, c]))
            if c == 0:
                r += v
            elif c == 1:
                g += v
            else:
                b += v
    out[0] = _inverse(r, value)
    out[1] = _inverse(g, value)
    out[2] = _inverse(b, value)


@njit(inline="always", fastmath=True)
def _dense(layer_meta, layer, w_data, tb, src, dst):
    """dst = act(W src + b); layer 0 takes the frame's time bias tb as its bias."""
    w_off, b_off, n_out, n_in, relu = (layer_meta[layer, 0], layer_meta[layer, 1], layer_meta[layer, 2],
                                       layer_meta[layer, 3], layer_meta[layer, 4])
    for o in range(n_out):
        acc = tb[o] if layer == 0 else w_data[b_off + o]
        row = w_off + o * n_in
        for i in range(n_in):
            acc += w_data[row + i] * src[i]
        dst[o] = max(acc, 0.0) if relu else acc


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


@njit(parallel=True, fastmath=True, cache=True)
def decode_frame_cpu(out, tb, mask, grid_data, grid_meta, channels, base_data, has_base, w_data, layer_meta,
                     value, max_width):
    """out: [H, W, 3] float32, written whole (masked texels 0)."""
    height, width = out.shape[0], out.shape[1]
    for y in prange(height):
        feat = np.empty(max_width, np.float32)
        h0 = np.empty(max_width, np.float32)
        h1 = np.empty(max_width, np.float32)
        px = np.empty(3, np.float32)
        for x in range(width):
            if mask[y, x] == 0:
                out[y, x, 0] = 0.0
                out[y, x, 1] = 0.0
                out[y, x, 2] = 0.0
                continue
            texel_value(y, x, tb, width, height, grid_data, grid_meta, channels, base_data, has_base, w_data,
                        layer_meta, value, feat, h0, h1, px)
            out[y, x, 0] = px[0]
            out[y, x, 1] = px[1]
            out[y, x, 2] = px[2]


@njit(parallel=True, fastmath=True, cache=True)
def sample_cpu(out, ys, xs, tb_index, tb_table, mask, grid_data, grid_meta, channels, base_data, has_base,
               w_data, layer_meta, value, max_width):
    """out: [N, 3]; sample n is texel (ys[n], xs[n]) at the time whose first-layer bias is
    tb_table[tb_index[n]]."""
    height, width = mask.shape[0], mask.shape[1]
    n = ys.shape[0]
    chunk = 1024
    for start in prange((n + chunk - 1) // chunk):
        feat = np.empty(max_width, np.float32)
        h0 = np.empty(max_width, np.float32)
        h1 = np.empty(max_width, np.float32)
        px = np.empty(3, np.float32)
        for k in range(start * chunk, min(n, (start + 1) * chunk)):
            y, x = ys[k], xs[k]
            if mask[y, x] == 0:
                out[k, 0] = 0.0
                out[k, 1] = 0.0
                out[k, 2] = 0.0
                continue
            texel_value(y, x, tb_table[tb_index[k]], width, height, grid_data, grid_meta, channels, base_data,
                        has_base, w_data, layer_meta, value, feat, h0, h1, px)
            out[k, 0] = px[0]
            out[k, 1] = px[1]
            out[k, 2] = px[2]
