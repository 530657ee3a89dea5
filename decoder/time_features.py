"""Time features (numpy): the decoder's copy of the trainer's encoding, held equal by tests."""

import numpy as np

from todlm.format.model_config import TimeConfig


def time_features(ts: np.ndarray, cfg: TimeConfig) -> np.ndarray:
    """ts: [N] hours (24 wraps to 0) -> [N, E] float64: the encoding, then the lamp bit."""
    t = np.remainder(np.asarray(ts, np.float64), 24.0)
    parts = []
    if cfg.encoding == "fourier":
        phase = t[:, None] * np.arange(1, cfg.frequencies + 1)[None, :] * (2.0 * np.pi / 24.0)
        parts += [np.sin(phase), np.cos(phase)]
    else:
        u = t / (24.0 / cfg.knots)
        k0 = np.floor(u)
        frac = u - k0
        k0 = k0.astype(np.int64) % cfg.knots
        enc = np.zeros((t.size, cfg.knots))
        rows = np.arange(t.size)
        np.add.at(enc, (rows, k0), 1.0 - frac)
        np.add.at(enc, (rows, (k0 + 1) % cfg.knots), frac)
        parts.append(enc)
    if cfg.lamp_state:
        parts.append(((t < 6.0) | (t > 18.0)).astype(np.float64)[:, None])
    return np.concatenate(parts, axis=1)


def hat_and_lamp(ts, cfg: TimeConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hat encoding: [N, knots] knot weights and [N] lamp state (all False without lamp_state),
    what decides which knot plane (or knot-residual image) a time reads."""
    f = time_features(np.asarray(ts, np.float64).reshape(-1), cfg)
    night = f[:, cfg.knots] > 0 if cfg.lamp_state else np.zeros(f.shape[0], bool)
    return f[:, :cfg.knots], night
