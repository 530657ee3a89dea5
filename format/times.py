"""Times of day: the HPRC evaluation times, their file keys, and the lamp switching rule."""

import math

from .errors import FormatError

HPRC_TIMES: tuple[float, ...] = tuple(sorted([float(h) for h in range(24)] + [5.9, 18.1]))
HPRC_RATIO_FRAMES = 24  # the judge's compression-ratio denominator counts 24 frames, not 26


def lamps_on(t: float) -> bool:
    """Local lamps burn for t < 6 and t > 18: 5.9 and 18.1 are on, 6.0 and 18.0 are off."""
    return t < 6.0 or t > 18.0


def time_key(t: float) -> str:
    """HPRC file key: hours x 100 as an integer string (5.9 -> "590")."""
    return str(int(round(t * 100)))


def parse_time_key(key: str, path=None) -> float:
    """Inverse of time_key; anything that is not 0..2400 in hundredths of an hour is rejected."""
    if not (isinstance(key, str) and key.isdigit()):
        raise FormatError(path, f"unknown time key {key!r} (expected hours x 100, e.g. '590')")
    value = int(key)
    if value > 2400:
        raise FormatError(path, f"unknown time key {key!r} (beyond 24:00)")
    return value / 100.0


def check_time(t, path=None) -> float:
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) or not 0.0 <= t <= 24.0:
        raise FormatError(path, f"time {t!r} is not a number of hours in [0, 24]")
    return float(t)
