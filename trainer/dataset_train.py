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
from typing import Callable, Iterable, Iterator

import numpy as np

from todlm.decoder.api import Decoder
from todlm.format.atomic import atomic_write_bytes
from todlm.format.container_writer import write_container
from todlm.format.lightmap_set import LightmapSet
from todlm.format.sources import iter_lightmaps, lightmap_index
from todlm.format.unpacked import merge
from todlm.metrics.hprc import score_frames
from todlm.decoder.hprc_export import container_rate

from .loop import train_group
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
    if workers is None:  # streaming: each lightmap is read once, and held only until its group is full
        done, keys, seen = {}, [], set()

        def wanted():
            for lightmap in itertools.chain([first], lightmaps):
                if lightmap.key in seen:
                    raise ValueError(f"{data}: lightmap {lightmap.level}/{lightmap.id} appears twice")
                seen.add(lightmap.key)
                if only is None or lightmap.key == only:
                    keys.append(lightmap.key)
                    yield lightmap

        for group in shape_groups(wanted(), preset.train.group, lambda lm: (lm.height, lm.width, len(lm.times))):
            for lightmap, row in zip(group, finished_group(group, preset, work, device, progress, data)):
                done[lightmap.key] = row
                progress.end(row)
    else:
        from .ray_level import train_on_ray

        index = [(key, shape) for key, shape in lightmap_index(data) if only is None or key == only]
        groups = [[key for key, _ in group] for group in shape_groups(index, preset.train.group, lambda e: e[1])]
        done = train_on_ray(data, groups, preset, work, device, workers, ray_address, progress)
        keys = [key for key, _ in index]
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


def shape_groups(items: Iterable, size: int, shape: Callable) -> Iterator[list]:
    """`items` in groups of up to `size` of one shape, in their order: each shape's items are cut
    into runs of `size` (each group yielded as it fills, the shorter last ones at the end), so a
    level splits the same way read as a stream or from its index."""
    open_groups = {}
    for item in items:
        key = shape(item)
        open_groups.setdefault(key, []).append(item)
        if len(open_groups[key]) == size:
            yield open_groups.pop(key)
    yield from open_groups.values()


def finished_group(lightmaps: list[LightmapSet], preset: Preset, work: Path, device: str, progress: Progress,
                   data: Path) -> list[dict]:
    """The lightmaps' rows, training them (as one group) into the work folder unless parts of the
    same data are there already (a part of other data under its name stops the run). The group's
    checkpoint stays until every member's part is written, so a run stopped between two members'
    exports resumes with the trained group."""
    rows = {}
    for lightmap in lightmaps:
        stem = part_stem(*lightmap.key)
        if (work / f"{stem}.tlm").exists() and (work / f"{stem}.json").exists():
            row = json.loads((work / f"{stem}.json").read_text())
            if row.get("input") != fingerprint(lightmap):
                raise ValueError(f"{work}: {lightmap.level}/{lightmap.id} was trained on other data than {data} "
                                 f"holds now; delete {work} to start over")
            rows[lightmap.key] = row
    if len(rows) < len(lightmaps):
        rows.update(train_members(lightmaps, set(rows), preset, work, device, progress))
    return [rows[lightmap.key] for lightmap in lightmaps]


def train_members(lightmaps: list[LightmapSet], finished: set, preset: Preset, work: Path, device: str,
                  progress: Progress) -> dict:
    """Trains a group and writes the part and row of each member not `finished`."""
    checkpoint = work / f"{part_stem(*lightmaps[0].key)}.ckpt"
    names = lightmaps[0].name + (f" + {len(lightmaps) - 1} more" if len(lightmaps) > 1 else "")
    progress.start(names, preset.train.total_steps)
    configs = [type(preset.model).from_json(preset.model.to_json()) for _ in lightmaps]
    results = train_group(lightmaps, configs, preset.train, device, checkpoint, progress.step)
    rows = {}
    for lightmap, result in zip(lightmaps, results):
        if lightmap.key in finished:
            continue
        stem = part_stem(*lightmap.key)
        record = shipped_record(result.model, result.float_model, lightmap, preset.train,
                                extra_metadata={"train_seconds": round(result.seconds, 2)}, status=progress.phase)
        write_container(work / f"{stem}.tlm", [record])
        row = evaluate_artifact(work / f"{stem}.tlm", lightmap)
        row.update(train_s=round(result.seconds, 2), steps=result.steps, input=fingerprint(lightmap))
        atomic_write_bytes(work / f"{stem}.json", json.dumps(row, indent=1).encode())
        rows[lightmap.key] = row
    checkpoint.unlink(missing_ok=True)
    return rows


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
