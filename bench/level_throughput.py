"""Level throughput on this machine: the same benchmark level trained one lightmap at a time in
one process (torch's default threads, and 1 thread), in stacked groups (train.group) in one
process, and as Ray tasks of 1 thread with 1 and 2 workers, side by side in one run:

    python -m todlm.bench.level_throughput [--mix 256x256=4] [--preset fast] [--steps 300] [--group 4]
                                           [--out bench/results/level.json]

Reports lightmaps per hour, texel-steps per second (texels a step samples x steps, per second of
wall time) and each lightmap's PSNR per mode (and the groups' PSNR minus one-at-a-time's, seed for
seed), and projects a 200-lightmap level at `default` (12000 + 1500 steps) from the measured
seconds per step. Each mode trains into its own output; modes with the same thread count and
group write the same file (train.threads), which the results record. `step_costs` times single
training steps at `default` on one lightmap of the level: alone, alone with its work shrunk (every
op kept: the share of a step that a group could split), and in a group: what stacking gives on
this machine, its bound, and where a lone step's time goes (torch profiler)."""

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


def run_mode(level: Path, out: Path, doc: dict, workers: int | None, threads: int, group: int) -> dict:
    from todlm.trainer.dataset_train import train_dataset
    from todlm.trainer.run_config import from_document, with_sets

    preset = from_document(with_sets(doc, [f"train.threads={threads}", f"train.group={group}"]))
    start = time.perf_counter()
    rows = train_dataset(level, out, preset, workers=workers)
    wall = time.perf_counter() - start
    steps = preset.train.total_steps
    return {"workers": workers, "threads": threads or "torch default", "group": group, "lightmaps": len(rows),
            "wall_s": wall, "lightmaps_per_hour": 3600 * len(rows) / wall,
            "texel_steps_per_s": len(rows) * steps * preset.train.batch / wall,
            "psnr": {f"{r['level']}/{r['id']}": r["psnr"] for r in rows},
            "projected_200_default_h": LEVEL_SIZE * (wall / len(rows)) * DEFAULT_STEPS / steps / 3600}


def step_costs(level: Path, group: int, steps: int = 20) -> dict:
    """Milliseconds per training step at `default` (model and losses) on the level's first
    lightmaps: one alone; one alone with every op kept but its work shrunk (64 texels, the
    smallest SSIM patch), which is the per-step cost a group could share at best; and `group` of
    them stacked. Each from two runs of different lengths, so set-up and warm-up cancel out."""
    import copy

    import torch

    from todlm.format.sources import iter_lightmaps
    from todlm.metrics.ssim import WINDOW
    from todlm.trainer.loop import train_group
    from todlm.trainer.run_config import preset
    from todlm.trainer.train_config import TrainConfig

    p = preset("default")
    lightmaps = list(iter_lightmaps(level))
    shape = (lightmaps[0].height, lightmaps[0].width)
    members = [lm for lm in lightmaps if (lm.height, lm.width) == shape][:group]

    def per_step(members, batch, patch=p.train.ssim_patch):
        def run(n):
            train = TrainConfig(**{**p.train.to_json(), "steps": n, "quant_finetune": 0, "batch": batch,
                                   "ssim_patch": patch})
            start = time.perf_counter()
            train_group(members, [copy.deepcopy(p.model) for _ in members], train)
            return time.perf_counter() - start
        run(2)
        return 1000 * (run(steps + 5) - run(5)) / steps

    alone, fixed = per_step(members[:1], p.train.batch), per_step(members[:1], 64, WINDOW)
    stacked = per_step(members, p.train.batch)
    with torch.profiler.profile() as prof:
        train_group(members[:1], [copy.deepcopy(p.model)],
                    TrainConfig(**{**p.train.to_json(), "steps": steps, "quant_finetune": 0}))
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops)
    return {"lightmap": f"{shape[1]}x{shape[0]}", "batch": p.train.batch, "alone_ms": round(alone, 2),
            "alone_tiny_ms": round(fixed, 2), "group": len(members), "group_ms": round(stacked, 2),
            "group_speedup": round(alone * len(members) / stacked, 3),
            "bound_speedup": round(alone / max(alone - fixed, 1e-9), 3),
            "profile_alone": {"aten_calls_per_step": round(sum(e.count for e in ops) / steps),
                              "top_self_cpu_share": {e.key: round(e.self_cpu_time_total / total, 3) for e in ops[:8]}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mix", default="256x256=4")
    parser.add_argument("--group", type=int, default=4)
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
        modes = (("one process", None, 0, 1), (f"one process, groups of {args.group}", None, 0, args.group),
                 ("one process, 1 thread", None, 1, 1), ("ray 1 worker, 1 thread", 1, 1, 1),
                 ("ray 2 workers, 1 thread each", 2, 1, 1))
        for name, workers, threads, group in modes:
            print(f"level_throughput: {name} ...", file=sys.stderr, flush=True)
            out = Path(tmp) / f"{name.replace(' ', '_').replace(',', '')}.tlm"
            result["modes"][name] = run_mode(level, out, doc, workers, threads, group)
            with Container.open(out) as c:
                files[name] = [{n: bytes(c.read_section(s)) for n, s in lm.sections.items()} for lm in c.lightmaps]
            atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
        one_thread = [files[name] for name, _, threads, group in modes if threads == 1 and group == 1]
        result["same_file"] = all(f == one_thread[0] for f in one_thread)
        alone, grouped = (result["modes"][name]["psnr"] for name, *_ in modes[:2])
        result["group_psnr_minus_alone_db"] = {k: round(grouped[k] - alone[k], 4) for k in alone}
        print("level_throughput: step costs at default ...", file=sys.stderr, flush=True)
        result["step_costs"] = step_costs(level, args.group)
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=1))


if __name__ == "__main__":
    main()
