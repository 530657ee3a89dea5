"""A benchmark level in the HPRC layout, made from the TOD bakes this project has (the bundled
sample and ../shared/data/tod/courtyard) by crops, flips, exposure changes and side-by-side
charts, in the HPRC size mix (mostly 1024x512; also 512x256, 256x256 and 128x64):

    python -m todlm.bench.level OUT [--mix 1024x512=8,512x256=6,256x256=6,128x64=4] [--seed 0]

Deterministic for a seed; writes OUT/ (config.json, Data/) and OUT/README.md, all or nothing."""

import argparse
import sys
from pathlib import Path

import numpy as np

from todlm.format.errors import FormatError
from todlm.format.hprc import write_hprc
from todlm.format.lightmap_set import LightmapSet

from .suite import SHARED

HPRC_MIX = {(1024, 512): 8, (512, 256): 6, (256, 256): 6, (128, 64): 4}
COURTYARD = SHARED / "tod" / "courtyard" / "train"
LEVEL = "L_Bench"
NOTES = """# Benchmark level ({count} lightmaps)

Made by `{command}` from {sources}. Each lightmap is a crop of one
source bake (or two crops side by side, for sizes wider than a source), flipped and scaled in
exposure at random; frames and masks go through the same crops and flips, so every frame keeps
its source's coverage, times and lamp schedule.

How it differs from a real level:
- two scenes, not one per atlas: neighbouring lightmaps repeat the same surfaces and lighting,
  so it is easier than a real level's variety, and a model shared across lightmaps would find
  more in common than it would in a game;
- side-by-side charts are seams no baker makes (the right half may be another bake entirely);
- every lightmap has the 26 HPRC times of one sun path and one lamp schedule (t < 6, t > 18);
- exposure scales (0.25-4x) stand in for differing light intensities; no new lighting is baked.

Sizes: {sizes}.
"""


def source_bakes() -> list[LightmapSet]:
    """The TOD bakes a level is cut from: the bundled sample and, where present, the courtyard."""
    from todlm.format.sample import load_sample
    from todlm.format.sources import iter_lightmaps

    bakes = [load_sample().train]
    if (COURTYARD / "config.json").is_file():
        bakes.append(next(iter_lightmaps(COURTYARD)))
    return bakes


def cut(bake: LightmapSet, width: int, height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """frames [T, h, w, 3] and masks [T, h, w] of a random crop of `bake` (resampled by
    nearest-neighbour striding where the bake is smaller), flipped at random."""
    frames, masks = bake.frames, bake.masks
    if bake.width < width or bake.height < height:  # a small source fills a larger chart at a coarser texel
        step = max(-(-width // bake.width), -(-height // bake.height))
        frames, masks = frames.repeat(step, axis=1).repeat(step, axis=2), masks.repeat(step, axis=1).repeat(step, axis=2)
    y = int(rng.integers(0, frames.shape[1] - height + 1))
    x = int(rng.integers(0, frames.shape[2] - width + 1))
    frames, masks = frames[:, y:y + height, x:x + width], masks[:, y:y + height, x:x + width]
    if rng.random() < 0.5:
        frames, masks = frames[:, :, ::-1], masks[:, :, ::-1]
    if rng.random() < 0.5:
        frames, masks = frames[:, ::-1], masks[:, ::-1]
    return frames, masks


def make_lightmap(bakes: list[LightmapSet], width: int, height: int, lid: int, rng: np.random.Generator) -> LightmapSet:
    """One lightmap: a crop of one bake, or, wider than every bake, two crops side by side as two
    charts, each at its own exposure."""
    times = bakes[0].times
    halves = 2 if width > max(b.width for b in bakes) else 1
    parts = []
    for _ in range(halves):
        bake = bakes[int(rng.integers(len(bakes)))]
        frames, masks = cut(bake, width // halves, height, rng)
        parts.append((frames * np.float32(2.0 ** rng.uniform(-2, 2)), masks))
    frames = np.concatenate([f for f, _ in parts], axis=2)
    masks = np.concatenate([m for _, m in parts], axis=2)
    return LightmapSet(np.ascontiguousarray(frames, np.float32), times, np.ascontiguousarray(masks),
                       name=f"bench_{lid}_{width}x{height}", level=LEVEL, id=lid)


def build_level(out: Path, mix: dict[tuple[int, int], int] = HPRC_MIX, seed: int = 0,
                bakes: list[LightmapSet] | None = None, command: str = "python -m todlm.bench.level") -> Path:
    bakes = bakes if bakes is not None else source_bakes()
    if len({tuple(b.times) for b in bakes}) != 1:
        raise FormatError(None, "the source bakes must share their times")
    rng = np.random.default_rng(seed)
    plan = [(w, h) for (w, h), n in sorted(mix.items(), reverse=True) for _ in range(n)]
    write_hprc(out, (make_lightmap(bakes, w, h, lid, rng) for lid, (w, h) in enumerate(plan)))
    sizes = ", ".join(f"{n} x {w}x{h}" for (w, h), n in sorted(mix.items(), reverse=True))
    sources = " and ".join(f"{b.name} ({b.width}x{b.height})" for b in bakes)
    (out / "README.md").write_text(NOTES.format(count=len(plan), command=command, sources=sources, sizes=sizes))
    return out


def parse_mix(text: str) -> dict[tuple[int, int], int]:
    mix = {}
    for item in text.split(","):
        size, _, count = item.partition("=")
        w, _, h = size.partition("x")
        try:
            mix[(int(w), int(h))] = int(count)
        except ValueError:
            raise ValueError(f"--mix {text!r}: use WxH=N[,WxH=N...], e.g. 1024x512=8,128x64=4") from None
    if not all(w > 0 and h > 0 and n >= 0 for (w, h), n in mix.items()) or not sum(mix.values()):
        raise ValueError(f"--mix {text!r}: sizes and counts must be positive")
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mix", default=",".join(f"{w}x{h}={n}" for (w, h), n in HPRC_MIX.items()))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        build_level(args.out, parse_mix(args.mix), args.seed,
                    command=" ".join(["python -m todlm.bench.level"] + sys.argv[1:]))
    except (ValueError, OSError) as exc:
        sys.exit(f"todlm.bench.level: {exc}")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
