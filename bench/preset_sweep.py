"""How the presets were chosen: candidate models trained on the bundled sample (quality of the
decoded artifact, size, train time) next to the CPU decode time of the same model shape at
1024x512 (random weights), since the default must decode such a frame in <= 50 ms here.

    python -m todlm.bench.preset_sweep [--out bench/results/presets.json] [--steps 1500] [--only TEXT] [--redo]

Rows already in --out are kept and not rerun, so an interrupted sweep resumes.
"""

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from todlm.format.atomic import atomic_write_bytes
from todlm.format.model_config import BasisConfig, LatentConfig, MLPConfig, ModelConfig, ResidualConfig, ValueConfig
from todlm.trainer.train_config import basis_model

from .machine import machine_info


def _with_grid(**grid) -> ModelConfig:
    model = basis_model()
    return replace(model, grid=replace(model.grid, **grid))


CANDIDATES = {  # name: (model, training overrides)
    "grid-mlp h32 (previous default)": (ModelConfig(), dict(batch=8192, lr_mlp=0.02)),
    "grid-mlp h16": (ModelConfig(mlp=MLPConfig(hidden=16)), dict(batch=8192, lr_mlp=0.02)),
    "basis k8 h32": (ModelConfig(basis=BasisConfig(k=8)), {}),
    "basis k12 h48": (ModelConfig(mlp=MLPConfig(hidden=48), basis=BasisConfig(k=12)), {}),
    "basis k12 h48 gamma2": (ModelConfig(mlp=MLPConfig(hidden=48), value=ValueConfig(gamma=2.0),
                                         basis=BasisConfig(k=12)), {}),
    "basis k16 h64 c6 gamma2 (preset model)": (basis_model(), {}),
    "preset model, 8 channels": (_with_grid(channels=8), {}),
    "preset model, 6-bit grids": (_with_grid(bits=6), {}),
    "preset model, 8 channels, 6-bit grids": (_with_grid(channels=8, bits=6), {}),
    "preset model, 3 channels, levels 32/64/256 (full resolution), 6-bit grids": (
        _with_grid(resolutions=[32, 64, 256], channels=3, bits=6), {}),
    "preset model, finest level hashed to 4096": (_with_grid(hash_top_levels=1, hash_capacity=4096), {}),
    "preset model, finest level hashed to 8192": (_with_grid(hash_top_levels=1, hash_capacity=8192), {}),
    "preset model + level 256, both finest hashed to 8192": (
        _with_grid(resolutions=[16, 32, 64, 128, 256], hash_top_levels=2, hash_capacity=8192), {}),
    "preset model, finest level 96 (dense, size of hashing to 8192)": (
        _with_grid(resolutions=[16, 32, 64, 96]), {}),
    "preset model, 4 channels (dense, size of hashing to 4096)": (_with_grid(channels=4), {}),
    "preset model, 4-bit grids, QAT": (_with_grid(bits=4), dict(qat_fraction=0.2)),
    "preset model, 4-bit grids, 12 channels, QAT": (_with_grid(bits=4, channels=12), dict(qat_fraction=0.2)),
    "preset model, 4-bit grids + level 256 hashed to 16384, QAT": (
        _with_grid(bits=4, resolutions=[16, 32, 64, 128, 256], hash_top_levels=1, hash_capacity=16384),
        dict(qat_fraction=0.2)),
    "preset model + BaselineEncoder latent 12 ch at 1/8": (replace(basis_model(), latent=LatentConfig(12)), {}),
    "preset model, BaselineEncoder latent 12 ch at 1/8 in place of the baseline": (
        replace(basis_model(), latent=LatentConfig(12), residual=ResidualConfig(enabled=False)), {}),
    "preset model, BaselineEncoder latent 6 ch at 1/4 in place of the baseline": (
        replace(basis_model(), latent=LatentConfig(6, downsample=4), residual=ResidualConfig(enabled=False)), {}),
}


def decode_ms(model: ModelConfig, width: int = 1024, height: int = 512, repeat: int = 7) -> dict:
    import torch

    from todlm.decoder.api import Decoder
    from todlm.format.container_writer import write_container
    from todlm.format.lightmap_set import LightmapSet
    from todlm.trainer.export import export_record
    from todlm.trainer.model import GridMLP
    from todlm.trainer.train_config import TrainConfig

    torch.manual_seed(0)
    net = GridMLP(model, width, height)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.5, 0.5)
    lm = LightmapSet(np.zeros((2, height, width, 3), np.float32), np.array([0.0, 12.0]),
                     np.ones((2, height, width), bool))
    out = np.empty((height, width, 3), np.float32)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tlm"
        write_container(path, [export_record(net, lm, TrainConfig())])
        for label, cache in (("cached", "auto"), ("uncached", "none")):
            if label == "cached" and not model.basis.k:
                continue
            decoder = Decoder.open(path, cache=cache)
            decoder.decode_frame(1.0, out=out)
            laps = []
            for _ in range(repeat):
                start = time.perf_counter()
                decoder.decode_frame(13.5, out=out)
                laps.append(time.perf_counter() - start)
            result[f"decode_ms_{label}"] = 1e3 * float(np.median(laps))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/presets.json"))
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 8000])
    parser.add_argument("--only", default="", help="run only candidates whose name contains this text")
    parser.add_argument("--redo", action="store_true",
                        help="first drop the selected candidates' rows (at --steps) from --out, so they run again")
    args = parser.parse_args()
    from todlm.format.sample import load_sample
    from todlm.trainer.train_config import Preset, TrainConfig

    from .trainer_bench import train_and_measure

    sample = load_sample()
    rows = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    if args.redo:
        rows = [r for r in rows if not (args.only in r["candidate"] and r["steps"] in args.steps)]
    done = {(r["candidate"], r["steps"]) for r in rows}
    for name, (model, overrides) in CANDIDATES.items():
        todo = [s for s in args.steps if (name, s) not in done and args.only in name]
        if not todo:
            continue
        speed = decode_ms(model)
        for steps in todo:
            p = Preset(replace(model), replace(TrainConfig(), steps=steps, **overrides))
            row = train_and_measure(sample.train, p, sample.unseen)
            rows.append({"candidate": name, "steps": steps, **speed,
                         **{k: row[k] for k in ("psnr", "ssim", "ratio", "bpts", "train_s", "flicker",
                                                "ptq_cost_db")},
                         "psnr_unseen": row["unseen"]["psnr_capped"],
                         "measured": time.strftime("%Y-%m-%d", time.gmtime())})
            print(f"{name}, {steps} steps: {row['psnr']:.2f} dB at {row['bpts']:.3f} bpts, "
                  f"decode {speed.get('decode_ms_cached', speed['decode_ms_uncached']):.1f} ms", file=sys.stderr)
            result = {"machine": machine_info(),
                      "command": " ".join(["python -m todlm.bench.preset_sweep"] + sys.argv[1:]), "rows": rows}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())


if __name__ == "__main__":
    main()
