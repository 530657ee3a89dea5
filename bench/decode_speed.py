"""Decode speed, side by side in one run: the numba CPU kernel vs the trainer's torch CPU
forward of the same artifact vs the physical floor (one numpy copy of a frame); random access
throughput and latency; load + JIT-warm time and resident memory. Models with a time basis are
timed with each cache: knot planes (the default), coefficient planes and none. A frame's time is
the median over the 26 HPRC times (at the 24 whole hours the knot cache reads one plane, between
knots two: the worst time is reported too).

    python -m todlm.bench.decode_speed [--width 1024 --height 512] [--knot-residual] [--out bench/results/decode.json]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from todlm.format.atomic import atomic_write_bytes
from todlm.format.times import HPRC_TIMES

from .machine import machine_info

LOAD_PROBE = """
import os, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
t0 = time.perf_counter()
from todlm.decoder.api import Decoder
import numpy as np
before = rss()
d = Decoder.open(sys.argv[1]); d.decode_frame(12.0); d.sample([0], [0], [12.0])
t1 = time.perf_counter()
print(t1 - t0, rss() - before, d.resident_bytes)
"""


def build_artifact(path: Path, width: int, height: int, preset_name: str, knot_residual: bool = False) -> None:
    """A preset's (or bench variant's) model of the right size with random weights (speed does not depend on the
    values), every texel valid (the slowest case: real atlases skip their empty texels); with
    `knot_residual`, random images in the preset's knot residual, as if fitted."""
    import torch

    from todlm.format.container_writer import write_container
    from todlm.format.lightmap_set import LightmapSet
    from todlm.trainer.export import export_record
    from todlm.trainer.model import GridMLP
    from .presets import bench_preset

    p = bench_preset(preset_name)
    torch.manual_seed(0)
    model = GridMLP(p.model, width, height)
    with torch.no_grad():
        for param in model.parameters():
            param.uniform_(-0.5, 0.5)
        if knot_residual:
            if model.knot_residual is None:
                raise ValueError(f"preset {preset_name!r} has no knot residual")
            model.knot_residual.images.uniform_(-0.05, 0.05)
            model.knot_residual.active = True
    times = np.array([0.0, 12.0])
    lm = LightmapSet(np.zeros((2, height, width, 3), np.float32), times, np.ones((2, height, width), bool))
    write_container(path, [export_record(model, lm, p.train)])


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def frame_ms(decoder, out, repeat: int) -> tuple[float, float]:
    """Median and worst ms per frame over the 26 HPRC times, each decoded `repeat` times after a
    warm-up pass (one time alone is noisy here, and lamp-on times may cost more)."""
    times = [float(t) for t in HPRC_TIMES]
    for t in times:
        decoder.decode_frame(t, out=out)
    laps = []
    for t in times:
        for _ in range(repeat):
            start = time.perf_counter()
            decoder.decode_frame(t, out=out)
            laps.append(time.perf_counter() - start)
    per_time = np.median(np.array(laps).reshape(len(times), repeat), axis=1)
    return 1000 * float(np.median(laps)), 1000 * float(per_time.max())


def run(width: int, height: int, preset_name: str, repeat: int, knot_residual: bool = False) -> dict:
    import torch

    from todlm.decoder.api import Decoder
    from todlm.trainer import value_transform
    from todlm.trainer.from_artifact import model_from_weights

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.tlm"
        build_artifact(path, width, height, preset_name, knot_residual)
        artifact_bytes = path.stat().st_size
        subprocess.run([sys.executable, "-c", LOAD_PROBE, str(path)], capture_output=True, text=True)
        probe = subprocess.run([sys.executable, "-c", LOAD_PROBE, str(path)], capture_output=True, text=True,
                               check=True)  # second run: numba's cache is warm
        load_s, rss_delta, resident = (float(x) for x in probe.stdout.split())
        decoder = Decoder.open(path)
        out = np.empty((height, width, 3), np.float32)
        cpu_ms, worst_ms = frame_ms(decoder, out, repeat)
        cpu_s = cpu_ms / 1000
        model = model_from_weights(decoder.weights)

        def torch_frame():
            with torch.no_grad():
                value_transform.inverse(model.frame(13.5, chunk=1 << 18), model.config.value)

        torch_s = timed(torch_frame, max(2, repeat // 4))
        src = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
        floor_s = timed(lambda: np.copyto(out, src), repeat)
        rng = np.random.default_rng(1)
        n = 1_000_000
        ys, xs, ts = rng.integers(0, height, n), rng.integers(0, width, n), rng.uniform(0, 24, n)
        batch_s = timed(lambda: decoder.sample(ys, xs, ts), 3)
        one_s = timed(lambda: decoder.sample([5], [7], [13.5]), 200)
        others = {}
        for cache, prefix in (("coefficients", "coefficients_"), ("none", "uncached_")):
            if decoder.cache in ("none", cache) or (cache == "coefficients" and knot_residual):
                continue  # a knot residual has no coefficient planes (the decoder refuses them)
            plain = Decoder.open(path, cache=cache)
            plain_ms, plain_worst_ms = frame_ms(plain, out, repeat if cache != "none" else 1)
            plain_s = plain_ms / 1000
            plain_batch_s = timed(lambda: plain.sample(ys, xs, ts), 3)
            others.update({f"{prefix}cpu_decode_ms": 1000 * plain_s, f"{prefix}worst_time_cpu_decode_ms": plain_worst_ms,
                           f"{prefix}speedup_vs_torch": torch_s / plain_s,
                           f"{prefix}decode_over_floor": plain_s / floor_s,
                           f"{prefix}random_access_samples_per_s": n / plain_batch_s,
                           f"{prefix}resident_bytes": plain.resident_bytes})
    texels = width * height
    return {
        "machine": machine_info(), "command": " ".join(["python -m todlm.bench.decode_speed"] + sys.argv[1:]),
        "width": width, "height": height, "preset": preset_name, "artifact_bytes": artifact_bytes,
        "cpu_decode_ms": 1000 * cpu_s, "cpu_mtexels_per_s": texels / cpu_s / 1e6,
        "torch_cpu_forward_ms": 1000 * torch_s, "speedup_vs_torch": torch_s / cpu_s,
        "floor_copy_ms": 1000 * floor_s, "decode_over_floor": cpu_s / floor_s,
        "random_access_samples_per_s": n / batch_s, "single_sample_latency_us": 1e6 * one_s,
        "load_and_warm_s": load_s, "resident_bytes": resident, "rss_growth_bytes": rss_delta,  # includes numba's compiled code and thread pool
        "resident_over_artifact": resident / artifact_bytes,
        "worst_time_cpu_decode_ms": worst_ms,
        "basis_k": decoder.weights.basis_k, "cache": decoder.cache, "knot_residual": knot_residual, **others,
        "note": "random weights, every texel valid (no empty atlas space skipped); medians",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--knot-residual", action="store_true", help="the preset's knot residual, as if fitted")
    parser.add_argument("--out", type=Path, default=Path("bench/results/decode.json"))
    args = parser.parse_args()
    result = run(args.width, args.height, args.preset, args.repeat, args.knot_residual)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
