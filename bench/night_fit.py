"""What a preset's bytes buy for the night frames alone. At unseen night times the cross-fade of
two static night frames is (near) exact: on the sample they are bit-identical and it scores the
60 dB cap, so a lossy codec matches linear interpolation there only with night frames at 60 dB
or more. Per TOD dataset:

- `shared`: the preset trained on every baked time (the suite's row), its PSNR on the night
  frames and at the unseen night times;
- `night_only`: the same model trained on the night frames alone (every byte on them): the most
  that model's size buys for the night image.

Night: the hours with the sun below the horizon in the bakes, t <= 5 or t >= 19.

    python -m todlm.bench.night_fit [--preset small]   (writes bench/results/night_fit.json)
"""

import json
import tempfile
from pathlib import Path

import numpy as np

from todlm.format.atomic import atomic_write_bytes
from todlm.format.lightmap_set import LightmapSet

from .machine import machine_info
from .measure import PSNR_CAP, capped_mean, scores

RESULTS = Path(__file__).parent / "results" / "night_fit.json"


def is_night(t: float) -> bool:
    """The hours with the sun below the horizon in both bakes (dawn 5.9 and dusk 18.1 are lit)."""
    return t <= 5.0 or t >= 19.0


def night_part(s: LightmapSet) -> LightmapSet:
    return s.select([i for i, t in enumerate(s.times) if is_night(float(t))])


def night_psnr(gt: LightmapSet, frames: np.ndarray) -> float | None:
    """Mean per-time PSNR, each capped, over the night times of `gt`."""
    return capped_mean(scores(gt, frames)["per_time"], is_night)


def fit(train: LightmapSet, evaluate: list[LightmapSet], preset_name: str, steps: int | None = None) -> dict:
    """Trains `preset_name` on `train`, exports it, and scores the night times of each `evaluate` set."""
    from todlm.decoder.api import Decoder
    from todlm.format.container_writer import write_container
    from todlm.trainer.loop import train_lightmap
    from todlm.trainer.quant_finetune import shipped_record
    from todlm.trainer.run_config import from_document, with_steps

    from .presets import bench_document

    doc = bench_document(preset_name)
    p = from_document(with_steps(doc, steps) if steps else doc)
    result = train_lightmap(train, p.model, p.train)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tlm"
        write_container(path, [shipped_record(result.model, result.float_model, train, p.train)])
        decoder = Decoder.open(path)
        return {"bytes": path.stat().st_size,
                "night_psnr": [night_psnr(s, decoder.decode_frames(s.times)) for s in evaluate]}


def crossfade_unseen(d) -> np.ndarray:
    """The cross-fade of the baked frames at the unseen times: linear interpolation's row."""
    from .baselines import interpolation

    return interpolation(d.train, d.unseen.times).unseen


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .suite import datasets

    parser = argparse.ArgumentParser(prog="python -m todlm.bench.night_fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=None, help="shorter runs for a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = []
    for d in datasets("full", []):
        if d.kind != "tod" or d.unseen is None:
            continue
        row = {"dataset": d.name, "preset": args.preset, "night_times": [float(t) for t in d.train.times if is_night(t)],
               "crossfade_unseen_night": night_psnr(d.unseen, crossfade_unseen(d)), "cap": PSNR_CAP}
        for name, train in (("shared", d.train), ("night_only", night_part(d.train))):
            got = fit(train, [d.train, d.unseen], args.preset, args.steps)
            row[name] = {"bytes": got["bytes"], "night_psnr": got["night_psnr"][0], "unseen_night": got["night_psnr"][1]}
            print(json.dumps({"dataset": d.name, name: row[name]}), flush=True)
        rows.append(row)
    atomic_write_bytes(args.out, json.dumps({"machine": machine_info(), "steps": args.steps, "rows": rows},
                                            indent=1).encode())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
