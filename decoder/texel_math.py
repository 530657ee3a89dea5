"""Scalar math both kernel families share, written once as plain Python: cpu_kernels compiles
it with numba.njit, cuda_kernels with numba.cuda.jit(device=True)."""

import math

from todlm.format.model_config import HASH_PRIME


def taps(pos, texels, cells):
    """Texel centres onto cell centres: lower cell index and the upper cell's weight."""
    g = (pos + 0.5) * (cells / texels) - 0.5
    g = min(max(g, 0.0), cells - 1.0)
    i0 = min(math.floor(g), cells - 2)
    return int(i0), g - i0


def inverse_value(y, value):
    """value = (transform id, gamma, mu, scale): linear 0, gamma 1, log1p 2, mulaw 3."""
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


def corner(off, cy, cx, cols, entries, channels):
    """Flat offset of lattice cell (cy, cx) of a level stored from `off`: row-major for a dense
    level (entries = 0), the hashed table entry otherwise (model_config.hash_index, written out
    so that numba compiles it)."""
    cell = (cx ^ (cy * HASH_PRIME)) & (entries - 1) if entries else cy * cols + cx
    return off + cell * channels


def images_at(images, weights, count, y0, x0, fy, fx, c):
    """Channel c of the additive images between cells (y0, x0) and (y0 + 1, x0 + 1) of their [P,
    rows, cols, 3] stack: the sum over images p of weights[p] times image p there (images of weight
    0, all but at most three at any time, are not read)."""
    v = 0.0
    for p in range(count):
        w = weights[p]
        if w != 0.0:
            v += w * ((1.0 - fy) * ((1.0 - fx) * images[p, y0, x0, c] + fx * images[p, y0, x0 + 1, c])
                      + fy * ((1.0 - fx) * images[p, y0 + 1, x0, c] + fx * images[p, y0 + 1, x0 + 1, c]))
    return v


def window_end(raw):
    """A sun window's end in hours from the MLP's raw output: 12 + 8 tanh(raw), within 4..20."""
    return 12.0 + 8.0 * math.tanh(raw)


def window_gate(t_on, t_off, t, width):
    """The sun term's weight at hour t (mod 24) for a window from t_on to t_off hours:
    sigmoid((t - t_on) / width) sigmoid((t_off - t) / width)."""
    return 1.0 / ((1.0 + math.exp((t_on - t) / width)) * (1.0 + math.exp((t - t_off) / width)))
