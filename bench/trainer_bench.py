"""The trainer's figures on the bundled sample (presets, PTQ cost, temporal-loss ablation,
unseen times vs linear interpolation) and on ../shared/data/unity-multi, always measured on
the decoded, quantised artifact.

    python -m todlm.bench.trainer_bench [--out bench/results/trainer.json]

About 25 minutes here; each finished run is kept in <out>.partial.json, so an interrupted run
resumes where it stopped.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from todlm.format.atomic import atomic_write_bytes
from todlm.format.lightmap_set import LightmapSet
from todlm.metrics.flicker import flicker
from todlm.metrics.rate import bpts, hprc_ratio

from .machine import machine_info
from .measure import PSNR_CAP, linear_interpolation, scores
from .unity_sets import unity_sequences

def train_and_measure(train: LightmapSet, preset_name: str, unseen: LightmapSet | None = None,
                      sets: tuple[str, ...] = ()) -> dict:
    """preset_name: a trainer preset or bench variant; sets: `--set` overrides on top of it."""
    import torch

    from todlm.decoder.api import Decoder
    from todlm.format.container_writer import write_container
    from todlm.decoder.hprc_export import hprc_bytes
    from todlm.trainer import value_transform
    from todlm.trainer.loop import train_lightmap
    from todlm.trainer.quant_finetune import shipped_record
    from todlm.trainer.run_config import from_document, with_sets

    from .presets import bench_document

    config = with_sets(bench_document(preset_name), list(sets))
    p = from_document(config)
    start = time.perf_counter()
    result = train_lightmap(train, p.model, p.train)
    train_s = time.perf_counter() - start
    # the float model before the quantised fine-tune, when there is one
    float_model = result.float_model if result.float_model is not None else result.model
    with torch.no_grad():
        floats = np.stack([value_transform.inverse(float_model.frame(t), p.model.value).numpy()
                           for t in train.times])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tlm"
        record = shipped_record(result.model, result.float_model, train, p.train)
        write_container(path, [record])
        size = path.stat().st_size
        raw = hprc_bytes(path)
        decoder = Decoder.open(path)
        decoded = decoder.decode_frames(train.times)
        row = {"preset": preset_name, "sets": list(sets), "config": config,
               "dataset": train.name, "width": train.width, "height": train.height, "times": train.n_times,
               "bytes": size, "hprc_bytes": raw, "ratio": hprc_ratio(raw, [(train.height, train.width)]),
               "bpts": bpts(size, train.width, train.height, train.n_times), "train_s": train_s,
               "steps": result.steps, "float_model": scores(train, floats)["psnr"]}
        row.update(scores(train, decoded))
        row["ptq_cost_db"] = row["float_model"] - row["psnr"]
        if "quant_finetune" in record.metadata:  # both candidates' PSNR, and which one was kept
            row["quant_finetune"] = record.metadata["quant_finetune"]
        row["flicker"] = flicker(train.frames, decoded, train.masks, train.times)
        if unseen is not None:
            u = scores(unseen, decoder.decode_frames(unseen.times))
            row["unseen"] = {"psnr_capped": u["psnr_capped"], "ssim": u["ssim"], "per_time": u["per_time"]}
    print(json.dumps({k: v for k, v in row.items() if k not in ("per_time", "unseen")}), flush=True)
    return row


TEMPORAL_SEEDS = (1, 2)  # beside seed 0, for the temporal-loss ablation at `default`


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/trainer.json"))
    parser.add_argument("--unity", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/unity-multi")
    args = parser.parse_args()
    from todlm.format.sample import load_sample

    sample = load_sample()
    interp = scores(sample.unseen, np.stack([linear_interpolation(sample.train, t) for t in sample.unseen.times]))
    def on_sample(name, *sets):
        return lambda: train_and_measure(sample.train, name, sample.unseen, sets)

    no_temporal = "train.temporal=false"
    jobs = {"sample/fast": on_sample("fast"), "sample/fast-no-temporal": on_sample("fast", no_temporal),
            "sample/default": on_sample("default"), "sample/default-no-temporal": on_sample("default", no_temporal),
            **{f"sample/{name}": on_sample(name) for name in ("default-temporal-l1", "default-8000-steps",
                                                              "default-2bit-detail", "default-tile-0.5-ssim-0.03")}}
    for seed in TEMPORAL_SEEDS:  # the temporal loss's cost is near the seed-to-seed spread: more seeds
        jobs[f"sample/default-seed{seed}"] = on_sample("default", f"train.seed={seed}")
        jobs[f"sample/default-no-temporal-seed{seed}"] = on_sample("default", no_temporal, f"train.seed={seed}")
    if args.unity.is_dir():
        for s in unity_sequences(args.unity):
            jobs[f"unity/{s.name}/fast"] = lambda s=s: train_and_measure(s, "fast")
            jobs[f"unity/{s.name}/fast-qat"] = lambda s=s: train_and_measure(s, "fast", sets=("train.qat_fraction=0.2",))
    partial = args.out.with_name(args.out.stem + ".partial.json")
    finished = json.loads(partial.read_text()) if partial.is_file() else {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for key, job in jobs.items():
        if key in finished:
            print(f"{key}: kept from {partial}", file=sys.stderr)
            continue
        print(f"{key}: training ({len(finished) + 1}/{len(jobs)})", file=sys.stderr, flush=True)
        finished[key] = job()
        atomic_write_bytes(partial, json.dumps(finished).encode())
    result = {"machine": machine_info(), "command": " ".join(["python -m todlm.bench.trainer_bench"] + sys.argv[1:]),
              "psnr_cap_for_means": PSNR_CAP,
              "sample_unseen_linear_interpolation": {"psnr_capped": interp["psnr_capped"], "ssim": interp["ssim"],
                                                     "per_time": interp["per_time"]},
              "sample": [finished[k] for k in jobs if k.startswith("sample/")],
              "unity_multi": [finished[k] for k in jobs if k.startswith("unity/")]}
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    partial.unlink()


if __name__ == "__main__":
    main()
