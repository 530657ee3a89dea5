"""CUDA kernels (numba.cuda): the CPU kernels' math, one thread per texel (or sample), MLP
weights (where they fit, MAX_WEIGHTS floats; else read from global memory) and the frame's time
bias staged in shared memory by each block."""

from numba import cuda, float32

from . import texel_math

MAX_WIDTH = 128  # widest MLP input or hidden layer the CUDA kernels take
MAX_WEIGHTS = 12288  # floats of MLP weights staged in shared memory (48 KiB); larger MLPs read global memory
BLOCK = (16, 16)

_taps = cuda.jit(device=True, inline=True)(texel_math.taps)
_inverse = cuda.jit(device=True, inline=True)(texel_math.inverse_value)
_corner = cuda.jit(device=True, inline=True)(texel_math.corner)
_images_at = cuda.jit(device=True, inline=True)(texel_math.images_at)
_window_end = cuda.jit(device=True, inline=True)(texel_math.window_end)
_window_gate = cuda.jit(device=True, inline=True)(texel_math.window_gate)


@cuda.jit(device=True, inline=True)
def _dense(layer_meta, layer, w, tb, src, dst):
    n_out, n_in, relu = layer_meta[layer, 2], layer_meta[layer, 3], layer_meta[layer, 4]
    w_off, b_off = layer_meta[layer, 0], layer_meta[layer, 1]
    for o in range(n_out):
        acc = tb[o] if layer == 0 else w[b_off + o]
        row = w_off + o * n_in
        for i in range(n_in):
            acc += w[row + i] * src[i]
        dst[o] = max(acc, 0.0) if relu else acc


@cuda.jit(device=True)
def _network(y, x, tb, width, height, grid_data, grid_meta, channels, w, layer_meta, h0, h1):
    """Grid features and MLP of texel (y, x); the output lands in h0 for an odd layer count, else h1."""
    feat = cuda.local.array(MAX_WIDTH, float32)
    for level in range(grid_meta.shape[0]):
        off, rows, cols, entries = grid_meta[level, 0], grid_meta[level, 1], grid_meta[level, 2], grid_meta[level, 3]
        y0, fy = _taps(y, height, rows)
        x0, fx = _taps(x, width, cols)
        p00 = _corner(off, y0, x0, cols, entries, channels)
        p01 = _corner(off, y0, x0 + 1, cols, entries, channels)
        p10 = _corner(off, y0 + 1, x0, cols, entries, channels)
        p11 = _corner(off, y0 + 1, x0 + 1, cols, entries, channels)
        w00, w01 = (1.0 - fy) * (1.0 - fx), (1.0 - fy) * fx
        w10, w11 = fy * (1.0 - fx), fy * fx
        for c in range(channels):
            feat[level * channels + c] = (w00 * grid_data[p00 + c] + w01 * grid_data[p01 + c]
                                          + w10 * grid_data[p10 + c] + w11 * grid_data[p11 + c])
    n_layers = layer_meta.shape[0]
    for layer in range(n_layers):
        if layer == 0:
            _dense(layer_meta, layer, w, tb, feat, h0)
        elif layer % 2 == 1:
            _dense(layer_meta, layer, w, tb, h0, h1)
        else:
            _dense(layer_meta, layer, w, tb, h1, h0)


@cuda.jit(device=True, inline=True)
def _add_texel_offsets(src, y, x, m):
    """Coefficients src[c k + j] += mix[c, j] * offsets[y, x, j]."""
    for c in range(3):
        for j in range(m.offset_count):
            src[c * m.basis_k + j] += m.offset_mix[c, j] * m.texel_offsets[y, x, j]


@cuda.jit(device=True)
def _texel(y, x, tb, bw, iw, width, height, m, w, out, k):
    """Texel (y, x) into out[k]; w: the MLP weights (m.w_data, or its copy in shared memory)."""
    h0 = cuda.local.array(MAX_WIDTH, float32)
    h1 = cuda.local.array(MAX_WIDTH, float32)
    _network(y, x, tb, width, height, m.grid_data, m.grid_meta, m.channels, w, m.layer_meta, h0, h1)
    src = h0 if m.layer_meta.shape[0] % 2 == 1 else h1
    if m.offset_count:
        _add_texel_offsets(src, y, x, m)
    iy, fy = _taps(y, height, m.images.shape[1])
    ix, fx = _taps(x, width, m.images.shape[2])
    gate = 0.0
    if m.sun_k:
        first = 3 * (m.basis_k + m.sun_k)
        gate = _window_gate(_window_end(src[first]), _window_end(src[first + 1]), bw[m.basis_k + m.sun_k],
                            m.sun_width)
    for c in range(3):
        if m.basis_k:
            v = 0.0
            for j in range(m.basis_k):
                v += src[c * m.basis_k + j] * bw[j]
            if m.sun_k:
                sun = 0.0
                for j in range(m.sun_k):
                    sun += src[3 * m.basis_k + c * m.sun_k + j] * bw[m.basis_k + j]
                v += gate * sun
        else:
            v = src[c]
        if m.image_count:
            v += _images_at(m.images, iw, m.image_count, iy, ix, fy, fx, c)
        out[k, c] = _inverse(v, m.value)


@cuda.jit(device=True, inline=True)
def _stage(src, n, dst, tid, threads):
    for i in range(tid, n, threads):
        dst[i] = src[i]


@cuda.jit
def decode_frame_cuda(out, tb, bw, iw, mask, m):
    """out: [H*W, 3] device array (a view of [H, W, 3]); one thread per texel; tb, bw, iw: the
    frame's time bias, basis weights and additive images' weights; m: KernelModel."""
    sw = cuda.shared.array(MAX_WEIGHTS, float32)
    stb = cuda.shared.array(MAX_WIDTH, float32)
    threads = cuda.blockDim.x * cuda.blockDim.y
    tid = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    n_weights = m.w_data.shape[0]
    staged = n_weights <= MAX_WEIGHTS
    if staged:
        _stage(m.w_data, n_weights, sw, tid, threads)
    _stage(tb, tb.shape[0], stb, tid, threads)
    cuda.syncthreads()
    x, y = cuda.grid(2)
    height, width = mask.shape[0], mask.shape[1]
    if y >= height or x >= width:
        return
    k = y * width + x
    if mask[y, x] == 0:
        out[k, 0] = 0.0
        out[k, 1] = 0.0
        out[k, 2] = 0.0
        return
    if staged:
        _texel(y, x, stb, bw, iw, width, height, m, sw, out, k)
    else:
        _texel(y, x, stb, bw, iw, width, height, m, m.w_data, out, k)


@cuda.jit
def sample_cuda(out, ys, xs, t_index, tb_table, bw_table, iw_table, mask, m):
    """out: [N, 3]; one thread per sample; row t_index[k] of tb_table / bw_table / iw_table is
    sample k's time bias / basis weights / additive images' weights."""
    sw = cuda.shared.array(MAX_WEIGHTS, float32)
    n_weights = m.w_data.shape[0]
    staged = n_weights <= MAX_WEIGHTS
    if staged:
        _stage(m.w_data, n_weights, sw, cuda.threadIdx.x, cuda.blockDim.x)
    cuda.syncthreads()
    k = cuda.grid(1)
    if k >= ys.shape[0]:
        return
    y, x, t = ys[k], xs[k], t_index[k]
    if mask[y, x] == 0:
        out[k, 0] = 0.0
        out[k, 1] = 0.0
        out[k, 2] = 0.0
        return
    if staged:
        _texel(y, x, tb_table[t], bw_table[t], iw_table[t], mask.shape[1], mask.shape[0], m, sw, out, k)
    else:
        _texel(y, x, tb_table[t], bw_table[t], iw_table[t], mask.shape[1], mask.shape[0], m, m.w_data, out, k)


@cuda.jit
def basis_planes_cuda(planes, window, tb, iw, mask, m):
    """planes: [3, k + 1 + sun.k, H, W] <- coefficients (the texel offsets added), plane k the
    additive images weighted by iw (the time-independent ones), then the sun coefficients;
    window: [2, H, W] <- a sun window's ends in hours; masked texels 0."""
    sw = cuda.shared.array(MAX_WEIGHTS, float32)
    threads = cuda.blockDim.x * cuda.blockDim.y
    n_weights = m.w_data.shape[0]
    basis_k = m.basis_k
    staged = n_weights <= MAX_WEIGHTS
    if staged:
        _stage(m.w_data, n_weights, sw, cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x, threads)
    cuda.syncthreads()
    x, y = cuda.grid(2)
    height, width = mask.shape[0], mask.shape[1]
    if y >= height or x >= width:
        return
    if mask[y, x] == 0:
        for c in range(3):
            for j in range(planes.shape[1]):
                planes[c, j, y, x] = 0.0
        if m.sun_k:
            window[0, y, x] = 0.0
            window[1, y, x] = 0.0
        return
    h0 = cuda.local.array(MAX_WIDTH, float32)
    h1 = cuda.local.array(MAX_WIDTH, float32)
    if staged:
        _network(y, x, tb, width, height, m.grid_data, m.grid_meta, m.channels, sw, m.layer_meta, h0, h1)
    else:
        _network(y, x, tb, width, height, m.grid_data, m.grid_meta, m.channels, m.w_data, m.layer_meta, h0, h1)
    src = h0 if m.layer_meta.shape[0] % 2 == 1 else h1
    if m.offset_count:
        _add_texel_offsets(src, y, x, m)
    iy, fy = _taps(y, height, m.images.shape[1])
    ix, fx = _taps(x, width, m.images.shape[2])
    for c in range(3):
        for j in range(basis_k):
            planes[c, j, y, x] = src[c * basis_k + j]
        planes[c, basis_k, y, x] = _images_at(m.images, iw, m.image_count, iy, ix, fy, fx, c)
        for j in range(m.sun_k):
            planes[c, basis_k + 1 + j, y, x] = src[3 * basis_k + c * m.sun_k + j]
    if m.sun_k:
        first = 3 * (basis_k + m.sun_k)
        window[0, y, x] = _window_end(src[first])
        window[1, y, x] = _window_end(src[first + 1])


@cuda.jit(device=True, inline=True)
def _cached_texel(pw, planes, window, sun, y, x, c):
    """The value-domain sum of texel (y, x)'s cached planes in channel c (the sun's set gated)."""
    first = int(sun[0])
    v = float32(0.0)
    lit = float32(0.0)
    for j in range(planes.shape[1]):
        if pw[j] != 0.0:
            if j < first:
                v += pw[j] * planes[c, j, y, x]
            else:
                lit += pw[j] * planes[c, j, y, x]
    if first < planes.shape[1]:
        v += _window_gate(window[0, y, x], window[1, y, x], sun[2], sun[1]) * lit
    return v


@cuda.jit
def decode_cached_cuda(out, pw, planes, window, sun, mask, value):
    """decode_cached_cpu's twin; out: [H*W, 3]."""
    x, y = cuda.grid(2)
    height, width = mask.shape[0], mask.shape[1]
    if y >= height or x >= width:
        return
    k = y * width + x
    for c in range(3):
        out[k, c] = _inverse(_cached_texel(pw, planes, window, sun, y, x, c), value) if mask[y, x] else 0.0


@cuda.jit
def sample_cached_cuda(out, ys, xs, t_index, pw_table, planes, window, sun_table, mask, value):
    """sample_cached_cpu's twin."""
    n = cuda.grid(1)
    if n >= ys.shape[0]:
        return
    y, x, t = ys[n], xs[n], t_index[n]
    for c in range(3):
        v = _cached_texel(pw_table[t], planes, window, sun_table[t], y, x, c)
        out[n, c] = _inverse(v, value) if mask[y, x] else 0.0
