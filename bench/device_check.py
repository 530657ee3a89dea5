"""The GPU check, one prepared command for the few minutes a GPU machine is lent:

    python -m todlm.bench.device_check [--out bench/results/gpu.json] [--tiny]

1. parity: the CUDA kernels against the numpy reference on random models of every preset's
   shape, whole frames and random samples, every cache;
2. decode speed of a `default` model at 1024x512 and 1024x1024: a cached (knot-plane) frame, an
   uncached frame, 1 M random samples;
3. the HPRC Interface.py over the 26 HPRC times of one lightmap on the GPU, as the judge times it;
4. training steps of `default` on CUDA, one lightmap alone and in stacked groups of 4 and 16
   (train.group), and the projected 200-lightmap level at the best group size.

Each part's figures (or the reason it could not run) land in the results file as soon as it
finishes, so a lease cut short still leaves what ran. `--tiny` shrinks every size so the whole
script runs in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), as the tests run it."""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from todlm.format.atomic import atomic_write_bytes

from todlm.trainer.run_config import PRESETS

from .machine import machine_info
from .random_model import numpy_artifact

def gpu_info() -> dict:
    from numba import config, cuda

    if config.ENABLE_CUDASIM:
        return {"name": "numba CUDA simulator", "simulator": True}
    device = cuda.get_current_device()
    return {"name": device.name.decode() if isinstance(device.name, bytes) else str(device.name),
            "compute_capability": list(device.compute_capability), "simulator": False}


def lightmap(width: int, height: int, times=(0.0, 5.9, 6.0, 18.1)):
    from todlm.format.lightmap_set import LightmapSet

    masks = np.ones((len(times), height, width), bool)
    masks[:, 1, :] = False  # a masked row, as atlases have
    return LightmapSet(np.ones((len(times), height, width, 3), np.float32), np.array(times), masks,
                       level="L_Check", id=0)


def parity(width: int, height: int, samples: int) -> dict:
    """Worst error of every preset's CUDA decode, each cache, against the numpy reference, over
    the bound the CPU parity tests use (1e-4 of the peak; plus half an int16 step for knot planes)."""
    from todlm.decoder.api import Decoder
    from todlm.decoder.reference import decode_frame_reference, parity_bound, sample_reference
    from todlm.trainer.run_config import preset

    out = {}
    rng = np.random.default_rng(0)
    for name in PRESETS:
        blob = numpy_artifact(preset(name).model, lightmap(width, height), seed=1)
        for cache in ("knots", "none"):
            decoder = Decoder.open(blob, device="cuda", cache=cache)
            worst = 0.0
            for t in (0.0, 5.9, 6.0, 13.37, 18.1, 24.0):
                ref = decode_frame_reference(decoder.weights, t)
                got = decoder.decode_frame(t).copy_to_host()
                worst = max(worst, float(np.abs(got - ref).max()) / parity_bound(decoder, ref))
            ys, xs, ts = rng.integers(0, height, samples), rng.integers(0, width, samples), rng.uniform(0, 24, samples)
            ref = sample_reference(decoder.weights, ys, xs, ts)
            got = decoder.sample(ys, xs, ts).copy_to_host()
            worst = max(worst, float(np.abs(got - ref).max()) / parity_bound(decoder, ref))
            out[f"{name}/{cache}"] = {"worst_error_over_bound": worst, "ok": worst <= 1.0}
    return out


def _timed(fn, repeat: int) -> float:
    """decode_speed.timed, the device synchronised inside each timed call."""
    from numba import cuda

    from .decode_speed import timed

    return timed(lambda: (fn(), cuda.synchronize()), repeat)


def decode_speed(sizes: list[tuple[int, int]], repeat: int, samples: int) -> dict:
    from numba import cuda

    from todlm.decoder.api import Decoder
    from todlm.trainer.run_config import preset

    out = {}
    rng = np.random.default_rng(2)
    for width, height in sizes:
        blob = numpy_artifact(preset("default").model, lightmap(width, height))
        row = {}
        for cache in ("knots", "none"):
            decoder = Decoder.open(blob, device="cuda", cache=cache)
            frame = cuda.device_array((height, width, 3), np.float32)
            row[f"{cache}_frame_ms"] = 1e3 * _timed(lambda: decoder.decode_frame(13.5, out=frame), repeat)
            ys, xs, ts = rng.integers(0, height, samples), rng.integers(0, width, samples), rng.uniform(0, 24, samples)
            row[f"{cache}_random_samples_per_s"] = samples / _timed(lambda: decoder.sample(ys, xs, ts), 2)
            row[f"{cache}_resident_bytes"] = decoder.resident_bytes
        out[f"{width}x{height}"] = row
    return out


def interface_timing(width: int, height: int) -> dict:
    """The submission's Interface.py over the 26 HPRC times of one lightmap on the GPU, as the
    judge times it (level_export.judge_decode)."""
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "torch sees no CUDA GPU (the judge hands frames over as CUDA tensors)"}
    from todlm.decoder.hprc_export import export_hprc
    from todlm.trainer.run_config import preset

    from .level_export import judge_decode

    with tempfile.TemporaryDirectory() as tmp:
        tlm = Path(tmp) / "m.tlm"
        tlm.write_bytes(numpy_artifact(preset("default").model, lightmap(width, height)))
        timing = judge_decode(export_hprc(tlm, Path(tmp) / "submission"), [("L_Check", 0)], "cuda")
    seconds = timing["level_s"]
    return {"frames": timing["times"], "seconds": seconds, "ms_per_frame": 1e3 * seconds / timing["times"]}


def training_speed(steps: int, groups: tuple[int, ...], rehearse: bool = False) -> dict:
    """Seconds per step of `default` on CUDA for the sample alone and in stacked groups of its
    copies (train.group): what a level's lightmap costs at each group size, and the projected
    200-lightmap level at the best. `rehearse`: on the CPU where torch sees no GPU (the tests)."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not rehearse:
        return {"skipped": "torch sees no CUDA GPU"}

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    from todlm.format.sample import load_sample
    from todlm.trainer.loop import train_group
    from todlm.trainer.run_config import from_document, preset_document, with_sets

    p = from_document(with_sets(preset_document("default"), [f"train.steps={steps}", "train.quant_finetune=0"]))
    sample = load_sample().train
    out = {"device": device, "lightmap": f"{sample.width}x{sample.height}", "steps": steps, "groups": {}}
    for size in groups:
        members = [sample] * size

        def run(stop):
            sync()
            start = time.perf_counter()
            train_group(members, [type(p.model).from_json(p.model.to_json()) for _ in members], p.train,
                        device=device, stop_after=stop)
            sync()
            return time.perf_counter() - start

        run(3)  # CUDA context and kernels warm
        step_s = (run(steps) - run(max(steps // 10, 1))) / (steps - max(steps // 10, 1))
        out["groups"][str(size)] = {"step_ms": 1000 * step_s, "lightmap_step_ms": 1000 * step_s / size,
                                    "default_lightmap_s": (12000 + 1500) * step_s / size}
    best = min(out["groups"], key=lambda g: out["groups"][g]["lightmap_step_ms"])
    out["best_group"] = int(best)
    out["projected_200_default_h"] = 200 * out["groups"][best]["default_lightmap_s"] / 3600
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/gpu.json"))
    parser.add_argument("--tiny", action="store_true", help="sizes for the CUDA simulator")
    args = parser.parse_args()
    from numba import cuda

    if not cuda.is_available():
        sys.exit("device_check: numba finds no CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 with --tiny to rehearse)")
    tiny = args.tiny
    results = {"machine": machine_info(), "gpu": gpu_info(),
               "command": " ".join(["python -m todlm.bench.device_check"] + sys.argv[1:])}
    parts = {"parity": lambda: parity(*((6, 4) if tiny else (64, 32)), 8 if tiny else 10000),
             "decode": lambda: decode_speed([(8, 4)] if tiny else [(1024, 512), (1024, 1024)], 1 if tiny else 20,
                                            16 if tiny else 1_000_000),
             "interface": lambda: interface_timing(*((8, 4) if tiny else (1024, 512))),
             "training": lambda: training_speed(4 if tiny else 200, (1, 2) if tiny else (1, 4, 16), rehearse=tiny)}
    for name, part in parts.items():
        start = time.perf_counter()
        print(f"device_check: {name} ...", file=sys.stderr, flush=True)
        try:
            results[name] = part()
        except Exception as exc:  # noqa: BLE001 (a failed part is a finding; the next still runs)
            results[name] = {"failed": f"{type(exc).__name__}: {exc}"}
        results[name + "_s"] = round(time.perf_counter() - start, 1)
        atomic_write_bytes(args.out, json.dumps(results, indent=1).encode())
    print(json.dumps(results, indent=1))
    if any(not v["ok"] for v in results.get("parity", {}).values() if isinstance(v, dict) and "ok" in v):
        sys.exit("device_check: CUDA parity failed")


if __name__ == "__main__":
    main()
