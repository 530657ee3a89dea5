"""A stand-in for the HPRC judge (../shared/docs/hprc-protocol.md), written from the protocol,
not from todlm: loads a submission's Interface.py, runs get/reconstruct/get_result/random_test
over a Data_HPRC folder, scores with numpy PSNR and torchmetrics SSIM, prints the judge's lines."""

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torchmetrics.image import StructuralSimilarityIndexMeasure

RANGES = {"psnr": (55.0, 20.0, 0.05), "ssim": (0.999, 0.73, 0.05), "ratio": (0.0, 0.5, 0.20),
          "time": (0.0, 300.0, 0.15)}


def load_interface(submission: Path):
    spec = importlib.util.spec_from_file_location(f"Interface_{abs(hash(submission))}", submission / "Interface.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(submission: Path, data: Path, device: str = "cpu", random_tests: int = 4, seed: int = 0) -> dict:
    interface = load_interface(submission)
    config = json.loads((data / "config.json").read_text())
    rng = np.random.default_rng(seed)
    psnrs, ssims, total_time, denominator = [], [], 0.0, 0
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for lm in config["lightmap_list"]:
        w, h = lm["resolution"]["width"], lm["resolution"]["height"]
        denominator += h * w * 3 * 4 * 24
        model = interface.get(lm, device)
        for key in sorted(lm["lightmaps"], key=int):
            t = int(key) / 100.0
            gt = np.fromfile(data / "Data" / lm["lightmaps"][key], np.float32).reshape(h, w, 3)
            valid = np.fromfile(data / "Data" / lm["masks"][key], np.int8).reshape(h, w) == 127
            sync()
            start = time.perf_counter()
            model.reconstruct(t)
            result = model.get_result()
            sync()
            total_time += time.perf_counter() - start
            assert tuple(result.shape) == (1, 3, h, w), result.shape
            for _ in range(random_tests):
                y, x = int(rng.integers(h)), int(rng.integers(w))
                single = model.random_test(np.array([[y, x, t]], np.float64))
                if not torch.allclose(single.reshape(3).float().cpu(), result[0, :, y, x].float().cpu(),
                                      atol=1e-2, rtol=1e-5):
                    raise AssertionError(f"random_test mismatch at {(y, x, t)}")
            result[0][:, ~torch.from_numpy(valid).to(result.device)] = 0  # in place, as the judge does
            rec = result[0].permute(1, 2, 0).cpu().numpy()
            for ty in range(0, h, 256):
                for tx in range(0, w, 256):
                    g, r, v = gt[ty:ty + 256, tx:tx + 256], rec[ty:ty + 256, tx:tx + 256], valid[ty:ty + 256, tx:tx + 256]
                    if not v.any() or g.max() == 0:
                        continue
                    gv, rv = g[v].astype(np.float64), r[v].astype(np.float64)
                    psnrs.append(10 * np.log10(gv.max() ** 2 / np.mean((gv - rv) ** 2)))
                    gt_t = torch.from_numpy(g.transpose(2, 0, 1)[None].copy())
                    rec_t = torch.from_numpy(r.transpose(2, 0, 1)[None].copy())
                    ssims.append(float(StructuralSimilarityIndexMeasure(data_range=float(g.max() - g.min()))(
                        rec_t, gt_t)))
    size = sum(p.stat().st_size for p in (submission / "Parameters").rglob("*") if p.is_file())
    out = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)), "lpips": None,
           "ratio": size / denominator, "time": total_time}
    subs = {k: 100 * min(max((out[k] - worst) / (best - worst), 0), 1) for k, (best, worst, _) in RANGES.items()}
    out["score_without_lpips"] = sum(RANGES[k][2] * subs[k] for k in RANGES)
    return out


def print_lines(r: dict) -> None:
    print(f"PSNR: {r['psnr']:.4f}")
    print(f"SSIM: {r['ssim']:.4f}")
    print("LPIPS: n/a (AlexNet weights unavailable)")
    print(f"Compression ratio: {r['ratio']:.6f}")
    print(f"Time: {r['time']:.3f} s")
    print(f"Score (without LPIPS, out of 45): {r['score_without_lpips']:.3f}")


if __name__ == "__main__":
    print_lines(run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "cpu"))
