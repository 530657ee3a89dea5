"""bench/night_fit.py: which frames are night, and a fit that scores the night times only."""

import numpy as np

from todlm.bench.night_fit import fit, night_part, night_psnr
from todlm.format.lightmap_set import LightmapSet


def tod_set(times) -> LightmapSet:
    """A 16x16 set whose night frames are one smooth lamp pool and whose day frames are brighter."""
    yy, xx = np.mgrid[0:16, 0:16] / 16.0
    lamp = (0.1 * np.exp(-((yy - 0.4) ** 2 + (xx - 0.6) ** 2) * 4))[..., None] * np.array([1.0, 0.8, 0.5])
    frames = np.stack([lamp if t <= 5 or t >= 19 else lamp + 1.0 + 0.1 * t for t in times])
    return LightmapSet(frames, np.asarray(times, float), np.ones((len(times), 16, 16), bool))


def test_night_part_keeps_the_hours_with_the_sun_down():
    s = tod_set([0.0, 5.0, 5.9, 12.0, 18.1, 19.0, 23.0])
    assert list(night_part(s).times) == [0.0, 5.0, 19.0, 23.0]


def test_night_psnr_counts_night_times_only_and_caps_exact_frames():
    s = tod_set([0.0, 12.0, 23.0])
    frames = s.frames.copy()
    frames[1] += 0.5  # a wrong day frame does not count
    assert night_psnr(s, frames) == 60.0
    frames[0] += 1e-3
    assert 40.0 < night_psnr(s, frames) < 60.0


def test_a_fit_on_the_night_frames_scores_them():
    s = tod_set([0.0, 1.0, 2.0, 12.0, 20.0, 21.0])
    got = fit(night_part(s), [s], "fast", steps=100)
    assert got["bytes"] > 0
    assert 30.0 < got["night_psnr"][0] <= 60.0
