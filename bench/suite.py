"""`todlm bench`: todlm against the alternatives, side by side in one run, on every dataset the
machine has. Each finished row is written to the results file at once, so an interrupted run
resumes where it stopped (rows already there are kept, not recomputed).

Row schema: method, preset, dataset, bpts, ratio, psnr, ssim, lpips, flip, flicker, psnr_unseen
(psnr_unseen_day: its day times, 6 < t < 18, where rows have it), train_s (the training loop),
decode_ms_cpu, resident_bytes (+ note, times, size); todlm rows
also export_s (the trained model to the stored record) and config: the run document it trained, which
`todlm train --config` takes as it is."""

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from todlm.format.atomic import atomic_write_bytes
from todlm.format.lightmap_set import LightmapSet
from todlm.metrics.flip import mean_flip
from todlm.metrics.rate import bpts, hprc_ratio

from . import baselines
from .baselines import Outcome
from .machine import machine_info
from .measure import PSNR_CAP, day_psnr, scores, sequence_flicker
from .ndgi_recipe import SIZES as NDGI_SIZES, ndgi_recipe
from .rd_summary import TODLM, summarise

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SUITES = ("quick", "full")


@dataclass
class Dataset:
    name: str
    kind: str  # "tod" (a day of frames, maybe unseen times), "short" (a few conditions), "single"
    train: LightmapSet
    unseen: LightmapSet | None = None


@dataclass
class Job:
    method: str
    preset: str
    dataset: str
    run: Callable[[Dataset], Outcome] = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.method, self.preset, self.dataset


def datasets(suite: str, extra: list[Path]) -> list[Dataset]:
    from todlm.format.sample import load_sample
    from todlm.format.sources import iter_lightmaps

    sample = load_sample()
    out = [Dataset("sample", "tod", sample.train, sample.unseen)]
    if suite == "full":
        courtyard = SHARED / "tod" / "courtyard"
        if (courtyard / "train").is_dir():
            unseen = next(iter_lightmaps(courtyard / "holdout")) if (courtyard / "holdout").is_dir() else None
            out.append(Dataset("tod/courtyard", "tod", next(iter_lightmaps(courtyard / "train")), unseen))
        if (SHARED / "unity-multi").is_dir():
            from .unity_sets import unity_sequences

            out += [Dataset(f"unity/{s.name}", "short" if s.n_times > 1 else "single", s)
                    for s in unity_sequences(SHARED / "unity-multi")]
        if (SHARED / "hprc-t0").is_dir():
            out += [Dataset(f"hprc-t0/{s.name}", "single", s) for s in iter_lightmaps(SHARED / "hprc-t0")]
    for path in extra:
        out += [Dataset(f"{path.name}/{s.name}", "tod" if s.n_times > 2 else "short" if s.n_times > 1 else "single",
                        s) for s in iter_lightmaps(path)]
    return out


def todlm_run(preset_name: str, keep: Path | None = None) -> Callable[[Dataset], Outcome]:
    """The job of a todlm preset or variant; `keep`: a folder that keeps each trained .tlm."""
    def run(d: Dataset) -> Outcome:
        from todlm.decoder.api import Decoder
        from todlm.format.container_writer import write_container
        from todlm.decoder.hprc_export import hprc_bytes
        from todlm.trainer.loop import train_lightmap
        from todlm.trainer.quant_finetune import shipped_record

        from .frame_time import frame_ms
        from .presets import bench_document, bench_preset

        p = bench_preset(preset_name)
        start = time.perf_counter()
        result = train_lightmap(d.train, p.model, p.train)
        train_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.tlm"
            start = time.perf_counter()
            write_container(path, [shipped_record(result.model, result.float_model, d.train, p.train)])
            export_s = time.perf_counter() - start
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, keep / f"{d.name.replace('/', '_')}-{preset_name}.tlm")
            decoder = Decoder.open(path)
            frames = decoder.decode_frames(d.train.times)
            unseen = decoder.decode_frames(d.unseen.times) if d.unseen is not None else None
            return Outcome(path.stat().st_size, frames, unseen, frame_ms(path),
                           decoder.resident_bytes, train_s, p.note, hprc_bytes(path), export_s,
                           bench_document(preset_name))
    return run


def jobs(suite: str, data: list[Dataset], keep: Path | None = None) -> list[Job]:
    """Every dataset's baselines and the trainer's presets come before any dataset's ablations,
    so a partial full run already compares todlm with the alternatives everywhere."""
    from .presets import PRESET_RATE_POINTS, bench_preset, suite_presets

    names = suite_presets(suite)
    first, later = [], []
    for d in data:
        first.append(Job("fp16+zstd", "-", d.name, lambda d: baselines.fp16_zstd(d.train)))
        for block in (4, 6, 8, 10, 12):
            first.append(Job("astc-hdr", f"{block}x{block}", d.name,
                             lambda d, block=block: baselines.astc_hdr(d.train, block)))
        if d.train.n_times > 1:
            for k in (1, 2, 4, 8, 16) if suite == "full" else (2, 4, 8, 16):
                if k <= d.train.n_times:
                    first.append(Job("pca", f"k={k}", d.name,
                                     lambda d, k=k: baselines.pca(d.train, k, unseen_times=_unseen_times(d))))
            if suite == "full" and d.kind == "tod":
                for k in (4, 8, 16):
                    first.append(Job("pca-split-lamps", f"k={k}", d.name,
                                     lambda d, k=k: baselines.pca(d.train, k, _unseen_times(d), split_lamps=True)))
        if d.unseen is not None:
            first.append(Job("interpolation", "-", d.name,
                             lambda d: baselines.interpolation(d.train, d.unseen.times)))
        if suite == "full" and d.kind == "tod":
            for size in NDGI_SIZES:
                first.append(Job("ndgi-recipe", size, d.name,
                                 lambda d, size=size: ndgi_recipe(d.train, size, _unseen_times(d))))
        for name in names:
            job = Job(bench_preset(name).method, name, d.name, todlm_run(name, keep))
            (first if name in PRESET_RATE_POINTS else later).append(job)
    return first + later


def _unseen_times(d: Dataset):
    return d.unseen.times if d.unseen is not None else None


def measure(d: Dataset, o: Outcome, lpips_score) -> dict:
    t = d.train
    row = {"bpts": None, "ratio": None, "psnr": None, "ssim": None, "lpips": None, "flip": None, "flicker": None,
           "psnr_unseen": None, "train_s": round(o.train_s, 2),
           "decode_ms_cpu": None if o.decode_ms is None else round(o.decode_ms, 3),
           "resident_bytes": o.resident_bytes, "stored_bytes": o.stored_bytes,
           "hprc_bytes": o.stored_bytes if o.hprc_bytes is None else o.hprc_bytes, "note": o.note}
    if o.export_s is not None:
        row["export_s"] = round(o.export_s, 2)
    if o.config is not None:
        row["config"] = o.config
    if o.stored_bytes is not None:
        row["bpts"] = bpts(o.stored_bytes, t.width, t.height, t.n_times)
        row["ratio"] = hprc_ratio(row["hprc_bytes"], [(t.height, t.width)])
    if o.frames is not None:
        s = scores(t, o.frames)
        row["psnr"] = min(s["psnr"], PSNR_CAP)
        row["ssim"] = s["ssim"]
        row["flip"] = mean_flip(t, o.frames)
        row["flicker"] = sequence_flicker(t, o.frames)
        if lpips_score is not None:
            row["lpips"] = _lpips(t, o.frames, lpips_score)
    if o.unseen is not None and d.unseen is not None:
        unseen = scores(d.unseen, o.unseen)
        row["psnr_unseen"] = unseen["psnr_capped"]
        day = day_psnr(unseen["per_time"])
        if day is not None:
            row["psnr_unseen_day"] = day
    return row


def _lpips(t: LightmapSet, frames: np.ndarray, lpips_score) -> float:
    from todlm.metrics.hprc import iter_tiles

    values = [lpips_score(t.frames[i][ys, xs], frames[i][ys, xs])
              for i in range(t.n_times) for ys, xs in iter_tiles(t.height, t.width) if t.masks[i, ys, xs].any()]
    return float(np.mean(values))


def run_suite(suite: str, out: Path, extra: list[Path] = (), progress=None, only: list[str] = (),
              presets: list[str] = (), redo: bool = False, methods: list[str] = (), keep: Path | None = None) -> dict:
    """Runs every job not yet in `out` (of the datasets whose name starts with one of `only`, of
    todlm only the `presets`, and only the `methods`, where given), writing `out` after each;
    returns the results.
    `keep`: a folder where each todlm row's .tlm stays.
    `redo` first drops those datasets' todlm rows (of `presets`, where given), e.g. after a
    change to the trainer or the container."""
    from todlm.metrics.lpips_metric import LpipsUnavailable, load_lpips

    if suite not in SUITES:
        raise ValueError(f"suite must be one of {SUITES}, not {suite!r}")
    try:
        lpips_score, lpips_note = load_lpips(), "computed (AlexNet v0.1, as the judge)"
    except LpipsUnavailable as exc:
        lpips_score, lpips_note = None, f"n/a: {exc}"
    results = {"suite": suite, "rows": [], "datasets": {}}
    if out.is_file():
        previous = json.loads(out.read_text())
        if previous.get("suite") == suite:
            results["rows"] = previous.get("rows", [])
            results["datasets"] = previous.get("datasets", {})
    data = datasets(suite, list(extra))
    if only:
        data = [d for d in data if d.name.startswith(tuple(only))]
        if not data:
            raise ValueError(f"--only {' '.join(only)}: no dataset of the {suite} suite starts with that")
    if redo:
        names = {d.name for d in data}
        results["rows"] = [r for r in results["rows"] if not (r["method"] in TODLM and r["dataset"] in names
                                                              and (not presets or r["preset"] in presets))]
    done = {(r["method"], r["preset"], r["dataset"]) for r in results["rows"]}
    todo = [j for j in jobs(suite, data, keep) if j.key not in done]
    if presets:
        known = {j.preset for j in todo if j.method in TODLM}
        unknown = sorted(set(presets) - known - {p for _, p, _ in done})
        if unknown:
            raise ValueError(f"--preset {' '.join(unknown)}: not a todlm preset of the {suite} suite")
        todo = [j for j in todo if j.method not in TODLM or j.preset in presets]
    if methods:
        known = {j.method for j in jobs(suite, data)}
        if set(methods) - known:
            raise ValueError(f"--method {' '.join(sorted(set(methods) - known))}: not a method of the {suite} suite "
                             f"(use {', '.join(sorted(known))})")
        todo = [j for j in todo if j.method in methods]
    by_name = {d.name: d for d in data}
    results["datasets"].update({d.name: {"kind": d.kind, "width": d.train.width, "height": d.train.height,
                                         "times": d.train.n_times,
                                         "unseen_times": 0 if d.unseen is None else d.unseen.n_times} for d in data})
    results.update(machine=machine_info(), command=f"todlm bench --suite {suite} --out {out}",
                   lpips=lpips_note, psnr_cap=PSNR_CAP)
    for i, job in enumerate(todo):
        if progress is not None:
            progress(i, len(todo), job)
        d = by_name[job.dataset]
        row = {"method": job.method, "preset": job.preset, "dataset": job.dataset}
        row.update(measure(d, job.run(d), lpips_score))
        row["measured"] = time.strftime("%Y-%m-%d", time.gmtime())
        row["cpu"] = results["machine"]["cpu"]  # a file's rows may come from several machines
        results["rows"].append(row)
        results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results["summary"] = summarise(results["rows"])
        atomic_write_bytes(out, json.dumps(results, indent=1).encode())
    if progress is not None:
        progress(len(todo), len(todo), None)
    return results
