"""Level throughput on this machine: the same benchmark level trained one lightmap at a time in
one process (torch's default threads, and 1 thread), and as Ray tasks of 1 thread with 1 and 2
workers, side by side in one run:

    python -m todlm.bench.level_throughput [--mix 128x64=4] [--preset fast] [--steps 300]
                                           [--out bench/results/level.json]

Reports lightmaps per hour, texel-steps per second (texels a step samples x steps, per second of
wall time) and each lightmap's PSNR per mode, and projects a 200-lightmap level at `default`
(12000 + 1500 steps) from the measured seconds per step. Each mode trains into its own output;
modes with the same thread count write the same file (train.threads), which the results record."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from todlm.format.atomic import atomic_write_bytes

from .level import build_level, parse_mix, source_bakes
from .machine import machine_info

DEFAULT_STEPS = 12000 + 1500
LEVEL_SIZE = 200


def run_mode(level: Path, out: Path, doc: dict, workers: int | None, threads: int) -> dict:
    from todlm.trainer.dataset_train import train_dataset
    from todlm.trainer.run_config import from_document, with_sets

    preset = from_document(with_sets(doc, [f"train.threads={threads}"]))
    start = time.perf_counter()
    rows = train_dataset(level, out, preset, workers=workers)
    wall = time.perf_counter() - start
    steps = preset.train.total_steps
    return {"workers": workers, "threads": threads or "torch default", "lightmaps": len(rows), "wall_s": wall, "lightmaps_per_hour": 3600 * len(rows) / wall,
            "texel_steps_per_s": len(rows) * steps * preset.train.batch / wall,
            "psnr": {f"{r['level']}/{r['id']}": r["psnr"] for r in rows},
            "projected_200_default_h": LEVEL_SIZE * (wall / len(rows)) * DEFAULT_STEPS / steps / 3600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", default="128x64=4")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/level.json"))
    args = parser.parse_args()
    from todlm.format.container import Container
    from todlm.trainer.run_config import preset_document, with_steps

    doc = with_steps(preset_document(args.preset), args.steps)
    result = {"machine": machine_info(), "command": " ".join(["python -m todlm.bench.level_throughput"] + sys.argv[1:]),
              "config": doc, "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        level = build_level(Path(tmp) / "level", parse_mix(args.mix), args.seed, source_bakes())
        files = {}
        modes = (("one process", None, 0), ("one process, 1 thread", None, 1), ("ray 1 worker, 1 thread", 1, 1),
                 ("ray 2 workers, 1 thread each", 2, 1))
        for name, workers, threads in modes:
            print(f"level_throughput: {name} ...", file=sys.stderr, flush=True)
            out = Path(tmp) / f"{name.replace(' ', '_').replace(',', '')}.tlm"
            result["modes"][name] = run_mode(level, out, doc, workers, threads)
            with Container.open(out) as c:
                files[name] = [{n: bytes(c.read_section(s)) for n, s in lm.sections.items()} for lm in c.lightmaps]
            atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
        one_thread = [files[name] for name, _, threads in modes if threads == 1]
        result["same_file"] = all(f == one_thread[0] for f in one_thread)
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))


if __name__ == "__main__":
    main()
