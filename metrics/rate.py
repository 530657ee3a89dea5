"""Size figures: bits per texel per time sample, and the HPRC compression ratio."""

from collections.abc import Iterable

from todlm.format.times import HPRC_RATIO_FRAMES


def bpts(total_bytes: int, width: int, height: int, n_frames: int) -> float:
    """Stored bits per texel per time sample; raw RGB float32 is 96."""
    return 8.0 * total_bytes / (width * height * n_frames)


def hprc_ratio(total_bytes: int, sizes: Iterable[tuple[int, int]]) -> float:
    """Bytes under Parameters/ over sum of H*W*3*4*24 (the judge counts 24 frames, not 26)."""
    return total_bytes / sum(h * w * 3 * 4 * HPRC_RATIO_FRAMES for h, w in sizes)


def container_rate(path) -> dict:
    """The size figures of a .tlm file that every command prints: `bpts` of the file as stored
    (header and table of contents included) over all its lightmaps' texels and times, and the
    HPRC `ratio` of its raw repack, every byte a submission's Parameters/ holds."""
    from pathlib import Path

    from todlm.format.container import Container
    from todlm.format.unpacked import hprc_bytes

    path = Path(path)
    with Container.open(path) as c:
        samples = sum(lm.width * lm.height * len(lm.times) for lm in c.lightmaps)
        sizes = [(lm.height, lm.width) for lm in c.lightmaps]
    stored, raw = path.stat().st_size, hprc_bytes(path)
    return {"bytes": stored, "hprc_bytes": raw, "bpts": 8.0 * stored / samples if samples else 0.0,
            "ratio": hprc_ratio(raw, sizes) if sizes else 0.0}
