"""The HPRC submission of a whole benchmark level: what its Parameters/ costs and how long the
judge's decode of it takes on this machine.

    python -m todlm.bench.level_export [--mix 1024x512=8,...] [--preset fast] [--steps 50]
                                       [--out bench/results/level_export.json]

Trains the benchmark level (bench/level.py; short runs: a model's size does not depend on its
steps, only its quality does), writes Parameters/ as `todlm export hprc` does, and splits its
bytes into section payloads and container overhead (header, table of contents, metadata,
alignment). Then, through the submission's own Interface.py on the CPU, decodes every lightmap at
the 26 HPRC times as the judge does (judge_decode, which device_check runs on the GPU) and
projects the 200-lightmap data set from the mean per lightmap."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from todlm.format.atomic import atomic_write_bytes
from todlm.format.times import HPRC_TIMES

from .level import HPRC_MIX, build_level, parse_mix, source_bakes
from .machine import machine_info

LEVEL_SIZE = 200


def parameters_split(parameters: Path) -> dict:
    """Bytes of Parameters/model.tlm: section payloads against everything else."""
    from todlm.format.container import Container

    with Container.open(parameters) as c:
        payload = sum(s.length for lm in c.lightmaps for s in lm.sections.values())
        sizes = [(lm.height, lm.width) for lm in c.lightmaps]
    total = parameters.stat().st_size
    from todlm.metrics.rate import hprc_ratio

    return {"lightmaps": len(sizes), "parameters_bytes": total, "payload_bytes": payload,
            "overhead_bytes": total - payload, "overhead_percent": 100.0 * (total - payload) / total,
            "overhead_bytes_per_lightmap": (total - payload) / len(sizes), "hprc_ratio": hprc_ratio(total, sizes)}


def judge_decode(submission: Path, keys: list[tuple[str, int]], device: str = "cpu") -> dict:
    """The submission's Interface.py as the judge calls it: get() per lightmap (untimed), then
    reconstruct and get_result at the 26 HPRC times, timed (on "cuda", the device synchronised)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("submission_interface", submission / "Interface.py")
    interface = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(interface)
    if device == "cuda":
        import torch

        sync = torch.cuda.synchronize
    else:
        def sync():
            pass
    per_lightmap = []
    for level, lid in keys:
        model = interface.get({"level": level, "id": lid}, device)
        sync()
        start = time.perf_counter()
        for t in HPRC_TIMES:
            model.reconstruct(t)
            model.get_result()
        sync()
        per_lightmap.append(time.perf_counter() - start)
    mean = sum(per_lightmap) / len(per_lightmap)
    return {"device": device, "times": len(HPRC_TIMES), "level_s": sum(per_lightmap), "mean_lightmap_s": mean,
            "projected_200_lightmaps_s": LEVEL_SIZE * mean}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", default=",".join(f"{w}x{h}={n}" for (w, h), n in HPRC_MIX.items()))
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/level_export.json"))
    args = parser.parse_args()
    from todlm.decoder.hprc_export import export_hprc
    from todlm.format.sources import lightmap_index
    from todlm.trainer.dataset_train import Progress, train_dataset
    from todlm.trainer.run_config import from_document, preset_document, with_steps

    preset = from_document(with_steps(preset_document(args.preset), args.steps))
    result = {"machine": machine_info(), "command": " ".join(["python -m todlm.bench.level_export"] + sys.argv[1:]),
              "preset": args.preset, "steps": args.steps}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        level = build_level(tmp / "level", parse_mix(args.mix), args.seed, source_bakes())
        keys = [key for key, _ in lightmap_index(level)]
        progress = Progress(end=lambda row: print(f"level_export: {row['level']}/{row['id']} trained", file=sys.stderr,
                                                  flush=True))
        rows = train_dataset(level, tmp / "level.tlm", preset, progress=progress)
        result["psnr_mean"] = sum(r["psnr"] for r in rows) / len(rows)
        export_hprc(tmp / "level.tlm", tmp / "submission")
        result["parameters"] = parameters_split(tmp / "submission" / "Parameters" / "model.tlm")
        print("level_export: decoding through Interface.py ...", file=sys.stderr, flush=True)
        result["judge_decode"] = judge_decode(tmp / "submission", keys)
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
