"""Contact sheet PNG: tonemapped GT | decoded | error, one triplet per time."""

import os

import numpy as np
from PIL import Image, ImageDraw

from todlm.format.atomic import atomic_path


def exposure_for(frame: np.ndarray, mask: np.ndarray) -> float:
    """Scale that puts the frame's bright valid texels near display white (per time: night too)."""
    lum = frame.mean(axis=-1)[mask]
    top = float(np.percentile(lum, 99)) if lum.size else 0.0
    return 1.0 / top if top > 0 else 1.0


def tonemap(frame: np.ndarray, exposure: float) -> np.ndarray:
    """Reinhard on the exposed value, then display gamma 2.2; uint8 [H,W,3]."""
    x = np.maximum(frame, 0) * exposure
    return (np.clip(x / (1.0 + x), 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


def error_image(gt: np.ndarray, rec: np.ndarray, exposure: float, gain: float = 10.0) -> np.ndarray:
    """|rec - gt| scaled by the frame exposure x gain, black-red-yellow-white."""
    e = np.clip(np.abs(rec - gt).mean(axis=-1) * exposure * gain, 0, 1)
    rgb = np.stack([np.clip(3 * e, 0, 1), np.clip(3 * e - 1, 0, 1), np.clip(3 * e - 2, 0, 1)], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def contact_sheet(path: str | os.PathLike, gt, rec: np.ndarray, panel: int = 128, per_row: int = 4,
                  title: str = "") -> None:
    """gt: LightmapSet; rec: [T,H,W,3] at gt.times."""
    label_h = 14
    n = gt.n_times
    rows = (n + per_row - 1) // per_row
    top = label_h if title else 0
    sheet = Image.new("RGB", (per_row * 3 * panel, top + rows * (panel + label_h)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((4, 1), title, fill=(255, 255, 255))
    for i, t in enumerate(gt.times):
        exposure = exposure_for(gt.frames[i], gt.masks[i])
        panels = [tonemap(gt.frames[i], exposure), tonemap(rec[i], exposure),
                  error_image(gt.frames[i], rec[i], exposure)]
        x0 = (i % per_row) * 3 * panel
        y0 = top + (i // per_row) * (panel + label_h)
        lamps = "lamps on" if gt.lamps[i] else "lamps off"
        draw.text((x0 + 3, y0 + 1), f"t={t:g}  {lamps}   GT | decoded | error x10", fill=(230, 230, 230))
        for k, img in enumerate(panels):
            tile = Image.fromarray(img).resize((panel, panel), Image.Resampling.BOX)
            sheet.paste(tile, (x0 + k * panel, y0 + label_h))
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
