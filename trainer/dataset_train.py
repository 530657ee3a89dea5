"""Training every lightmap of a dataset into one container, one lightmap at a time, resumable:
each finished lightmap is kept as its own small container in a work folder beside the output
(with its summary row and a fingerprint of the data it was trained on), an unfinished one as a
checkpoint; the output is assembled at the end, and the work folder then removed."""

import hashlib
import itertools
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from todlm.decoder.api import Decoder
from todlm.format.atomic import atomic_write_bytes
from todlm.format.container_writer import write_container
from todlm.format.lightmap_set import LightmapSet
from todlm.format.sources import iter_lightmaps, lightmap_keys
from todlm.format.unpacked import merge
from todlm.metrics.hprc import score_frames
from todlm.decoder.hprc_export import container_rate

from .loop import train_lightmap
from .quant_finetune import shipped_record
from .settings_stamp import check_same_settings, settings_json
from .run_config import Preset


@dataclass
class Progress:
    """Callbacks for a display: a lightmap starts (its name, steps), a step ends, the export after
    the steps enters a phase (what it does, which can take minutes), it ends."""

    start: Callable[[str, int], None] = lambda name, steps: None
    step: Callable[[int, dict], None] = lambda step, stats: None
    phase: Callable[[str], None] = lambda text: None
    end: Callable[[dict], None] = lambda row: None


def work_dir_for(out: Path) -> Path:
    return out.with_name(out.name + ".work")


def fingerprint(lightmap: LightmapSet) -> str:
    """A hash of what training reads (times, frames, masks, lamps, size): a work folder's parts are
    reused only for the same data, never for other data under the same names."""
    h = hashlib.blake2b(digest_size=16)
    for array in (lightmap.times, lightmap.frames, lightmap.masks, lightmap.lamps):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(repr(lightmap.frames.shape).encode())
    return h.hexdigest()


def train_dataset(data: Path, out: Path, preset: Preset, only: tuple[str, int] | None = None, device: str = "cpu",
                  progress: Progress | None = None, keep_work: bool = False, workers: int | None = None,
                  ray_address: str | None = None) -> list[dict]:
    """Trains what `data` holds into `out`; the input is read and checked before anything is
    written. keep_work keeps the work folder after the output is assembled. workers: train the
    lightmaps as that many Ray tasks at once (ray_address: on that cluster), the work folder
    still the one record of what is done; the output is the same file either way."""
    progress = progress or Progress()
    lightmaps = iter_lightmaps(data)
    first = next(lightmaps, None)
    if first is None:
        raise ValueError(f"{data}: no lightmaps")
    if workers is not None:
        from .ray_level import require_ray

        require_ray()
    work = work_dir_for(out)
    if out.parent.exists() and not out.parent.is_dir():
        raise ValueError(f"{out}: its folder {out.parent} is a file")
    work.mkdir(parents=True, exist_ok=True)
    stamp, settings = work / "settings.json", settings_json(preset.model, preset.train)
    try:
        stored = json.loads(stamp.read_text()) if stamp.is_file() else None
    except ValueError:
        raise ValueError(f"{stamp}: not JSON; delete {work} to start over") from None
    check_same_settings(stored, settings, work)
    atomic_write_bytes(stamp, json.dumps(settings, indent=1).encode())
    if workers is None:  # one at a time, streaming: each lightmap is read once
        done = {}
        for lightmap in itertools.chain([first], lightmaps):
            if lightmap.key in done:
                raise ValueError(f"{data}: lightmap {lightmap.level}/{lightmap.id} appears twice")
            if only is None or lightmap.key == only:
                done[lightmap.key] = finished_part(lightmap, preset, work, device, progress, data)
                progress.end(done[lightmap.key])
        keys = list(done)
    else:
        from .ray_level import train_on_ray

        keys = [key for key in lightmap_keys(data) if only is None or key == only]
        done = train_on_ray(data, keys, preset, work, device, workers, ray_address, progress)
    rows = [done[key] for key in keys]
    parts = [work / f"{part_stem(*key)}.tlm" for key in keys]
    if not parts:
        raise ValueError(f"{data}: no lightmap {only[0]}/{only[1]}")
    merge(parts, out, metadata={"trained_from": str(data)})
    if not keep_work:
        shutil.rmtree(work)
    return rows


def part_stem(level: str, lid: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{level}__{lid}")


def finished_part(lightmap: LightmapSet, preset: Preset, work: Path, device: str, progress: Progress,
                  data: Path) -> dict:
    """The lightmap's row, training it into the work folder unless a part of the same data is
    there already (a part of other data under its name stops the run)."""
    stem = part_stem(*lightmap.key)
    part, row_file = work / f"{stem}.tlm", work / f"{stem}.json"
    digest = fingerprint(lightmap)
    if part.exists() and row_file.exists():
        row = json.loads(row_file.read_text())
        if row.get("input") != digest:
            raise ValueError(f"{work}: {lightmap.level}/{lightmap.id} was trained on other data than {data} "
                             f"holds now; delete {work} to start over")
        return row
    row = {**train_one(lightmap, preset, part, work / f"{stem}.ckpt", device, progress), "input": digest}
    atomic_write_bytes(row_file, json.dumps(row, indent=1).encode())
    return row


def train_one(lightmap: LightmapSet, preset: Preset, part: Path, checkpoint: Path, device: str,
              progress: Progress) -> dict:
    progress.start(lightmap.name, preset.train.total_steps)
    model_config = type(preset.model).from_json(preset.model.to_json())
    result = train_lightmap(lightmap, model_config, preset.train, device, checkpoint, progress.step)
    record = shipped_record(result.model, result.float_model, lightmap, preset.train,
                            extra_metadata={"train_seconds": round(result.seconds, 2)}, status=progress.phase)
    write_container(part, [record])
    row = evaluate_artifact(part, lightmap)
    row.update(train_s=round(result.seconds, 2), steps=result.steps)
    checkpoint.unlink(missing_ok=True)
    return row


def evaluate_artifact(path: Path, lightmap: LightmapSet) -> dict:
    """Decode the stored single-lightmap artifact (never the float model) at the lightmap's
    times and score it; decode_ms is timed after one untimed JIT warm-up."""
    decoder = Decoder.open(path)
    decoder.decode_frame(0.0)
    start = time.perf_counter()
    frames = [decoder.decode_frame(float(t)) for t in lightmap.times]
    decode_s = (time.perf_counter() - start) / len(frames)
    summary = score_frames(lightmap.frames, frames, lightmap.masks)
    rate = container_rate(path)
    return {"level": lightmap.level, "id": lightmap.id, "name": lightmap.name, "width": lightmap.width,
            "height": lightmap.height, "times": len(lightmap.times), "bytes": rate["bytes"],
            "raw_bytes": rate["hprc_bytes"], "ratio": rate["ratio"], "bpts": rate["bpts"],
            "psnr": summary["psnr"], "ssim": summary["ssim"],
            "decode_ms": round(1000 * decode_s, 2)}


def pooled(rows: list[dict]) -> dict:
    """Dataset quality: PSNR/SSIM as means of the lightmaps' means, and the training time (the
    output file's size figures are decoder.hprc_export.container_rate's)."""
    return {"lightmaps": len(rows), "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])), "train_s": float(sum(r["train_s"] for r in rows))}
