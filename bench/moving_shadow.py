"""Error maps of moving shadows at unseen day times: a decoded .tlm against the cross-fade of the
two nearest baked frames (what a game does between baked hours), beside the ground truth.

    python -m todlm.bench.moving_shadow MODEL.tlm --dataset sample [--out bench/results/moving_shadow_sample.png]

One row per unseen day time (6 < t < 18): the ground truth (tonemapped), the cross-fade's error
and the model's error (the contact sheet's panels: cli/contact_sheet.py), each titled with its
HPRC PSNR at that time."""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from todlm.cli.contact_sheet import error_image, exposure_for, tonemap
from todlm.decoder.api import Decoder
from todlm.format.atomic import atomic_path

from .measure import is_day, linear_interpolation, scores


def figure(gt_set, train_set, decoded: np.ndarray) -> tuple[Image.Image, list[dict]]:
    rows, figures = [], []
    for i, t in enumerate(gt_set.times):
        gt, fade = gt_set.frames[i], linear_interpolation(train_set, float(t))
        one = gt_set.select([i])
        psnr_fade, psnr_model = scores(one, fade[None])["psnr"], scores(one, decoded[i][None])["psnr"]
        exposure = exposure_for(gt, gt_set.masks[i])
        panels = [tonemap(gt, exposure), error_image(gt, fade, exposure), error_image(gt, decoded[i], exposure)]
        labels = [f"t = {t:g} h, ground truth", f"cross-fade {psnr_fade:.2f} dB", f"todlm {psnr_model:.2f} dB"]
        strip = Image.fromarray(np.concatenate(panels, 1))
        draw = ImageDraw.Draw(strip)
        w = gt.shape[1]
        for j, label in enumerate(labels):
            draw.rectangle([j * w, 0, j * w + 7 * len(label) + 6, 14], fill=(0, 0, 0))
            draw.text((j * w + 3, 1), label, fill=(255, 220, 0))
        rows.append(np.asarray(strip))
        figures.append({"time": float(t), "psnr_crossfade": psnr_fade, "psnr_model": psnr_model})
    return Image.fromarray(np.concatenate(rows, 0)), figures


def main() -> None:
    from .suite import datasets

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--dataset", default="sample", help="a TOD dataset of the full suite with unseen times")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    found = [d for d in datasets("full", []) if d.name == args.dataset and d.unseen is not None]
    if not found:
        raise SystemExit(f"{args.dataset}: not a TOD dataset with unseen times here")
    d = found[0]
    day = [i for i, t in enumerate(d.unseen.times) if is_day(t)]
    unseen = d.unseen.select(day)
    decoder = Decoder.open(args.model, lightmap=(d.train.level, d.train.id))
    image, rows = figure(unseen, d.train, decoder.decode_frames(unseen.times))
    out = args.out or Path("bench/results") / f"moving_shadow_{args.dataset.replace('/', '_')}.png"
    with atomic_path(out) as tmp:
        image.save(tmp, format="PNG")
    for r in rows:
        print(f"t = {r['time']:g} h: cross-fade {r['psnr_crossfade']:.2f} dB, model {r['psnr_model']:.2f} dB")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
