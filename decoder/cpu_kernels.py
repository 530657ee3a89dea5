"""CPU kernels (numba): texels are processed a row (or a chunk of samples) at a time, valid
texels only: grid features are gathered into a [features, texels] block, then every layer is
a small matrix product whose inner loop runs over texels, so it vectorises. Scratch is
width x row-length per thread, never H x W x hidden."""

import numpy as np
from numba import njit, prange

from . import texel_math

SEGMENT = 128  # texels per task: the [width, SEGMENT] scratch blocks stay in L1/L2 cache

_taps = njit(inline="always", fastmath=True)(texel_math.taps)
_inverse = njit(inline="always", fastmath=True)(texel_math.inverse_value)
_corner = njit(inline="always")(texel_math.corner)
_images_at = njit(inline="always", fastmath=True)(texel_math.images_at)
_window_end = njit(inline="always", fastmath=True)(texel_math.window_end)
_window_gate = njit(inline="always", fastmath=True)(texel_math.window_gate)


@njit(inline="always", fastmath=True)
def _gather(a, k, level, channels, grid_data, p00, p01, p10, p11, fy, fx):
    """a[level's features, k] from the four corner offsets (y0, x0), (y0, x0+1), (y0+1, x0), (y0+1, x0+1)."""
    w00, w01 = (1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx
    w10, w11 = fy * (1.0 - fx), fy * fx
    for c in range(channels):
        a[level * channels + c, k] = (w00 * grid_data[p00 + c] + w01 * grid_data[p01 + c]
                                      + w10 * grid_data[p10 + c] + w11 * grid_data[p11 + c])


@njit(inline="always", fastmath=True)
def _gather_cell(a, k, level, channels, grid_data, off, cols, entries, y0, x0, fy, fx):
    if entries:
        _gather(a, k, level, channels, grid_data, _corner(off, y0, x0, cols, entries, channels),
                _corner(off, y0, x0 + 1, cols, entries, channels), _corner(off, y0 + 1, x0, cols, entries, channels),
                _corner(off, y0 + 1, x0 + 1, cols, entries, channels), fy, fx)
    else:
        p00 = off + (y0 * cols + x0) * channels
        p10 = p00 + cols * channels
        _gather(a, k, level, channels, grid_data, p00, p00 + channels, p10, p10 + channels, fy, fx)


@njit(fastmath=True)
def _features(a, ys, xs, n, width, height, grid_data, grid_meta, channels):
    """a[f, k] = feature f of texel (ys[k], xs[k])."""
    for level in range(grid_meta.shape[0]):
        off, rows, cols, entries = grid_meta[level, 0], grid_meta[level, 1], grid_meta[level, 2], grid_meta[level, 3]
        for k in range(n):
            y0, fy = _taps(ys[k], height, rows)
            x0, fx = _taps(xs[k], width, cols)
            _gather_cell(a, k, level, channels, grid_data, off, cols, entries, y0, x0, fy, fx)


@njit(fastmath=True)
def _column_taps(width, grid_meta):
    """Every column's lower cell and upper weight per level: the same for every row of a frame."""
    levels = grid_meta.shape[0]
    x_cell = np.empty((levels, width), np.int64)
    x_frac = np.empty((levels, width), np.float64)
    for level in range(levels):
        for x in range(width):
            x_cell[level, x], x_frac[level, x] = _taps(x, width, grid_meta[level, 2])
    return x_cell, x_frac


@njit(fastmath=True)
def _row_features(a, y, xs, n, height, x_cell, x_frac, grid_data, grid_meta, channels):
    """_features for texels of one row, with the columns' taps computed once per frame."""
    for level in range(grid_meta.shape[0]):
        off, rows, cols, entries = grid_meta[level, 0], grid_meta[level, 1], grid_meta[level, 2], grid_meta[level, 3]
        y0, fy = _taps(y, height, rows)
        for k in range(n):
            _gather_cell(a, k, level, channels, grid_data, off, cols, entries, y0, x_cell[level, xs[k]], fy,
                         x_frac[level, xs[k]])


@njit(fastmath=True)
def _layers(a, b, t_index, tb_table, n, w_data, layer_meta):
    """The MLP on features a[:, :n]; returns the array (a or b) holding the last layer's rows."""
    src, dst = a, b
    for layer in range(layer_meta.shape[0]):
        w_off, b_off, n_out, n_in, relu = (layer_meta[layer, 0], layer_meta[layer, 1], layer_meta[layer, 2],
                                           layer_meta[layer, 3], layer_meta[layer, 4])
        for o in range(n_out):
            row = dst[o]
            if layer == 0:
                for k in range(n):
                    row[k] = tb_table[t_index[k], o]
            else:
                bias = w_data[b_off + o]
                for k in range(n):
                    row[k] = bias
            base = w_off + o * n_in
            i = 0
            while i + 4 <= n_in:  # four inputs per pass: one load and store of row per 4 FMAs
                w0, w1, w2, w3 = w_data[base + i], w_data[base + i + 1], w_data[base + i + 2], w_data[base + i + 3]
                s0, s1, s2, s3 = src[i], src[i + 1], src[i + 2], src[i + 3]
                for k in range(n):
                    row[k] += w0 * s0[k] + w1 * s1[k] + w2 * s2[k] + w3 * s3[k]
                i += 4
            while i < n_in:
                wv = w_data[base + i]
                s = src[i]
                for k in range(n):
                    row[k] += wv * s[k]
                i += 1
            if relu:
                for k in range(n):
                    row[k] = max(row[k], 0.0)
        src, dst = dst, src
    return src


@njit(fastmath=True)
def _add_texel_offsets(src, k, y, x, m):
    """Coefficients a[c k + j] (sample k's column of src) += mix[c, j] * offsets[y, x, j]."""
    for c in range(3):
        for j in range(m.offset_count):
            src[c * m.basis_k + j, k] += m.offset_mix[c, j] * m.texel_offsets[y, x, j]


@njit(fastmath=True)
def _mlp(a, b, ys, xs, t_index, tb_table, bw_table, iw_table, n, width, height, m, result):
    """From features a[:, :n] to result[k, :] = linear RGB; b is scratch like a. Basis models
    dot each colour's k coefficients (plus the texel's own offsets) with the sample's basis weights
    bw_table[t_index[k]] (with a sun window, that row goes on with the sun weights d(t) and t mod
    24); the additive images come in weighted by iw_table[t_index[k]]."""
    src = _layers(a, b, t_index, tb_table, n, m.w_data, m.layer_meta)
    rows, cols = m.images.shape[1], m.images.shape[2]
    for k in range(n):
        y, x = ys[k], xs[k]
        if m.offset_count:
            _add_texel_offsets(src, k, y, x, m)
        if m.image_count:
            iy, fy = _taps(y, height, rows)
            ix, fx = _taps(x, width, cols)
        gate = 0.0
        if m.sun_k:
            first, t = 3 * (m.basis_k + m.sun_k), bw_table[t_index[k], m.basis_k + m.sun_k]
            gate = _window_gate(_window_end(src[first, k]), _window_end(src[first + 1, k]), t, m.sun_width)
        for c in range(3):
            if m.basis_k:
                v = 0.0
                for j in range(m.basis_k):
                    v += src[c * m.basis_k + j, k] * bw_table[t_index[k], j]
                if m.sun_k:
                    sun = 0.0
                    for j in range(m.sun_k):
                        sun += src[3 * m.basis_k + c * m.sun_k + j, k] * bw_table[t_index[k], m.basis_k + j]
                    v += gate * sun
            else:
                v = src[c, k]
            if m.image_count:
                v += _images_at(m.images, iw_table[t_index[k]], m.image_count, iy, ix, fy, fx, c)
            result[k, c] = _inverse(v, m.value)


@njit(parallel=True, fastmath=True, cache=True)
def decode_frame_cpu(out, tb, bw, iw, mask, m):
    """out: [H, W, 3] float32, written whole (masked texels 0); tb: the frame's time bias; bw:
    its basis weights (unused without a basis); iw: its additive images' weights; m: KernelModel."""
    height, width = out.shape[0], out.shape[1]
    tb_table = tb.reshape(1, -1)
    bw_table = bw.reshape(1, -1)
    iw_table = iw.reshape(1, -1)
    x_cell, x_frac = _column_taps(width, m.grid_meta)
    segments = (width + SEGMENT - 1) // SEGMENT
    for task in prange(height * segments):
        y, first = task // segments, (task % segments) * SEGMENT
        last = min(width, first + SEGMENT)
        xs = np.empty(last - first, np.int64)
        n = 0
        for x in range(first, last):
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
        a = np.empty((m.max_width, n), np.float32)
        _row_features(a, y, xs, n, height, x_cell, x_frac, m.grid_data, m.grid_meta, m.channels)
        _mlp(a, np.empty((m.max_width, n), np.float32), ys, xs, np.zeros(n, np.int64), tb_table, bw_table, iw_table,
             n, width, height, m, result)
        for k in range(n):
            out[y, xs[k], 0] = result[k, 0]
            out[y, xs[k], 1] = result[k, 1]
            out[y, xs[k], 2] = result[k, 2]


@njit(parallel=True, fastmath=True, cache=True)
def sample_cpu(out, ys, xs, t_index, tb_table, bw_table, iw_table, mask, m):
    """out: [N, 3]; sample n is texel (ys[n], xs[n]) at the time whose first-layer bias, basis
    weights and image weights are row t_index[n] of tb_table, bw_table and iw_table; masked
    texels give 0."""
    height, width = mask.shape[0], mask.shape[1]
    total = ys.shape[0]
    chunk = SEGMENT
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
        sy, sx, si = ys[keep[:n]], xs[keep[:n]], t_index[keep[:n]]
        result = np.empty((n, 3), np.float32)
        a = np.empty((m.max_width, n), np.float32)
        _features(a, sy, sx, n, width, height, m.grid_data, m.grid_meta, m.channels)
        _mlp(a, np.empty((m.max_width, n), np.float32), sy, sx, si, tb_table, bw_table, iw_table, n, width, height, m,
             result)
        for k in range(n):
            out[keep[k], 0] = result[k, 0]
            out[keep[k], 1] = result[k, 1]
            out[keep[k], 2] = result[k, 2]


@njit(parallel=True, fastmath=True, cache=True)
def basis_planes_cpu(planes, window, tb, iw, mask, m):
    """planes: [3, k + 1 + sun.k, H, W] float32 <- the coefficients a[c * k + j] of every texel
    (the texel offsets added), plane k the additive images weighted by iw (the time-independent
    ones: the baseline), then the sun coefficients; window: [2, H, W] <- the sun window's ends in
    hours (with a sun window); masked texels 0. Computed once, at open."""
    height, width = mask.shape[0], mask.shape[1]
    basis_k = m.basis_k
    n_planes = planes.shape[1]
    tb_table = tb.reshape(1, -1)
    x_cell, x_frac = _column_taps(width, m.grid_meta)
    rows, cols = m.images.shape[1], m.images.shape[2]
    for y in prange(height):
        for c in range(3):
            for j in range(n_planes):
                for x in range(width):
                    planes[c, j, y, x] = 0.0
        if m.sun_k:
            for x in range(width):
                window[0, y, x] = 0.0
                window[1, y, x] = 0.0
        xs = np.empty(width, np.int64)
        n = 0
        for x in range(width):
            if mask[y, x]:
                xs[n] = x
                n += 1
        if n == 0:
            continue
        a = np.empty((m.max_width, n), np.float32)
        _row_features(a, y, xs, n, height, x_cell, x_frac, m.grid_data, m.grid_meta, m.channels)
        src = _layers(a, np.empty((m.max_width, n), np.float32), np.zeros(n, np.int64), tb_table, n, m.w_data,
                      m.layer_meta)
        iy, fy = _taps(y, height, rows)
        for k in range(n):
            x = xs[k]
            if m.offset_count:
                _add_texel_offsets(src, k, y, x, m)
            for c in range(3):
                for j in range(basis_k):
                    planes[c, j, y, x] = src[c * basis_k + j, k]
                for j in range(m.sun_k):
                    planes[c, basis_k + 1 + j, y, x] = src[3 * basis_k + c * m.sun_k + j, k]
            if m.sun_k:
                first = 3 * (basis_k + m.sun_k)
                window[0, y, x] = _window_end(src[first, k])
                window[1, y, x] = _window_end(src[first + 1, k])
            if m.image_count:
                ix, fx = _taps(x, width, cols)
                for c in range(3):
                    planes[c, basis_k, y, x] = _images_at(m.images, iw, m.image_count, iy, ix, fy, fx, c)


@njit(inline="always", fastmath=True)
def _blend_rows(row, pw, planes, c, y, start, stop):
    """row += sum over planes j in [start, stop) of pw[j] planes[c, j, y] (planes of weight 0 unread)."""
    for j in range(start, stop):
        wj = pw[j]
        if wj == 0.0:
            continue
        plane = planes[c, j, y]
        for x in range(row.shape[0]):
            row[x] += wj * plane[x]


@njit(parallel=True, fastmath=True, cache=True)
def decode_cached_cpu(out, pw, planes, window, sun, mask, value):
    """out[y, x, c] = inverse(sum_j pw[j] planes[c, j, y, x]); masked 0. Planes whose weight is 0
    are not read (a knot-cache frame reads 1 or 2 of them). Rows are summed plane by plane
    (contiguous, vectorised), then transformed and interleaved; gamma 2 (x = y * y) and 4
    (x = (y * y)^2) are special-cased: they vectorise where a general power does not. With a sun
    window (sun = (first sun plane, width in hours, t mod 24); first = the plane count without),
    the planes from the first sun plane on are summed apart and count times each texel's gate
    between its window ends window[:, y, x]."""
    height, width = mask.shape[0], mask.shape[1]
    n_planes = planes.shape[1]
    first = int(sun[0])
    square = value[0] == 1 and value[1] == 2.0
    fourth = value[0] == 1 and value[1] == 4.0
    scale = value[3]
    for y in prange(height):
        acc = np.zeros((3, width), np.float32)
        gate = np.zeros(width, np.float32)
        if first < n_planes:
            for x in range(width):
                gate[x] = _window_gate(window[0, y, x], window[1, y, x], sun[2], sun[1])
        for c in range(3):
            row = acc[c]
            _blend_rows(row, pw, planes, c, y, 0, first)
            if first < n_planes:
                lit = np.zeros(width, np.float32)
                _blend_rows(lit, pw, planes, c, y, first, n_planes)
                for x in range(width):
                    row[x] += gate[x] * lit[x]
            if square:
                for x in range(width):
                    v = max(row[x], 0.0)
                    row[x] = v * v * scale
            elif fourth:
                for x in range(width):
                    v = max(row[x], 0.0)
                    v2 = v * v
                    row[x] = v2 * v2 * scale
            else:
                for x in range(width):
                    row[x] = _inverse(row[x], value)
        m = mask[y]
        o = out[y]
        for x in range(width):
            keep = np.float32(m[x] != 0)
            o[x, 0] = acc[0, x] * keep
            o[x, 1] = acc[1, x] * keep
            o[x, 2] = acc[2, x] * keep


@njit(parallel=True, fastmath=True, cache=True)
def sample_cached_cpu(out, ys, xs, t_index, pw_table, planes, window, sun_table, mask, value):
    """sample_cpu from the cached planes: one multiply-add per plane of non-zero weight; with a
    sun window, sun_table[t] = (first sun plane, width, t mod 24) as decode_cached_cpu's `sun`."""
    n_planes = planes.shape[1]
    for n in prange(ys.shape[0]):
        y, x, t = ys[n], xs[n], t_index[n]
        first = int(sun_table[t, 0])
        gate = np.float32(0.0)
        if first < n_planes:
            gate = _window_gate(window[0, y, x], window[1, y, x], sun_table[t, 2], sun_table[t, 1])
        for c in range(3):
            v = np.float32(0.0)
            lit = np.float32(0.0)
            for j in range(n_planes):
                wj = pw_table[t, j]
                if wj != 0.0:
                    if j < first:
                        v += wj * planes[c, j, y, x]
                    else:
                        lit += wj * planes[c, j, y, x]
            v += gate * lit
            out[n, c] = _inverse(v, value) if mask[y, x] else 0.0
