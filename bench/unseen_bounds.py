"""What can be had at unseen day times from the baked frames alone: ways of filling in between
the two bracketing baked frames of the ground truth, scored at each TOD dataset's unseen times
(no codec, no size limit). A codec whose frames between knots blend its own knot frames (today's
hat basis) is bounded by the cross-fade; these rows say how far a cleverer in-between could go.

- `crossfade`: (1 - a) A + a B, the reference every bench row compares with.
- `catmull-rom`: a cubic through the four nearest baked frames of the same lamp state.
- `flow`: a smooth flow at 1/8 resolution fitted from A to B, both frames warped part of the way
  along it and blended: moving shadows move instead of fading.
- `edge-morph`: texels whose light changes more than 3x switch from A to B at a time set by their
  distances, within their chart, to the change region's side that already had B's light and the
  side that keeps A's: a shadow edge sweeps across the region.
- `oracle-blend/N`: the best blend weight of A and B per N x N block (1: per texel), chosen with
  the unseen frame itself: what per-texel transition timing could reach, not a method.

    python -m todlm.bench.unseen_bounds   (writes bench/results/unseen_bounds.json)
"""

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from todlm.format.atomic import atomic_write_bytes
from todlm.format.times import lamps_on

from .machine import machine_info
from .measure import day_psnr, interpolation_weights, is_day, scores

RESULTS = Path(__file__).parent / "results" / "unseen_bounds.json"
LUMA = np.array([0.2126, 0.7152, 0.0722])


def catmull_rom(frames: np.ndarray, times: np.ndarray, t: float) -> np.ndarray:
    same = sorted((i for i, x in enumerate(times) if lamps_on(x) == lamps_on(t)), key=lambda i: times[i])
    below, above, s = interpolation_weights(times, t)
    p, q = same.index(below), same.index(above)
    taps = [same[max(p - 1, 0)], below, above, same[min(q + 1, len(same) - 1)]]
    c = [(-s ** 3 + 2 * s ** 2 - s) / 2, (3 * s ** 3 - 5 * s ** 2 + 2) / 2, (-3 * s ** 3 + 4 * s ** 2 + s) / 2,
         (s ** 3 - s ** 2) / 2]
    return np.maximum(sum(ci * frames[i] for ci, i in zip(c, taps)), 0.0)


def flow_blend(A: np.ndarray, B: np.ndarray, mask: np.ndarray, a: float, down: int = 8, steps: int = 300,
               smooth: float = 0.05) -> np.ndarray:
    """The flow u with B(x) ~ A(x + u(x)) (fitted in the x^(1/2) domain on valid texels), then
    (1 - a) A(x + a u) + a B(x - (1 - a) u)."""
    import torch
    import torch.nn.functional as F

    h, w = mask.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")

    def warp(img, flow):
        grid = torch.stack([(xs + flow[0, 0]) / (w - 1) * 2 - 1, (ys + flow[0, 1]) / (h - 1) * 2 - 1], -1)
        return F.grid_sample(img, grid[None], align_corners=True, padding_mode="border")

    def tensor(x):
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(2, 0, 1)[None]

    ra, rb = tensor(np.sqrt(np.maximum(A, 0))), tensor(np.sqrt(np.maximum(B, 0)))
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    low = torch.zeros(1, 2, h // down, w // down, requires_grad=True)
    opt = torch.optim.Adam([low], lr=0.5)
    for _ in range(steps):
        flow = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=True)
        loss = (((warp(ra, flow) - rb) ** 2) * m).mean() + smooth * (
            ((low[..., 1:, :] - low[..., :-1, :]) ** 2).mean() + ((low[..., 1:] - low[..., :-1]) ** 2).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        flow = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=True)
        out = (1 - a) * warp(tensor(A), a * flow) + a * warp(tensor(B), -(1 - a) * flow)
    return out[0].permute(1, 2, 0).numpy().astype(np.float64) * mask[..., None]


def edge_morph(A: np.ndarray, B: np.ndarray, mask: np.ndarray, a: float, ratio: float = 3.0,
               soft: float = 4.0) -> np.ndarray:
    la, lb = np.log(A @ LUMA + 1e-4), np.log(B @ LUMA + 1e-4)
    change = mask & (np.abs(lb - la) > np.log(ratio))
    b_side, a_side = np.zeros_like(change), np.zeros_like(change)
    steady = mask & ~change
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        light = np.roll(la, (dy, dx), (0, 1))  # a steady neighbour's light, the same at A and B
        ok = change & np.roll(steady, (dy, dx), (0, 1))
        like_b = np.abs(light - lb) < np.abs(light - la)
        b_side |= ok & like_b
        a_side |= ok & ~like_b
    d_a, d_b = np.full(la.shape, np.inf), np.full(la.shape, np.inf)
    labels, _ = ndimage.label(mask)
    for i, box in enumerate(ndimage.find_objects(labels)):
        chart = labels[box] == i + 1
        for side, dist in ((b_side, d_b), (a_side, d_a)):
            seeds = side[box] & chart
            if seeds.any():
                dist[box][chart] = ndimage.distance_transform_edt(~seeds)[chart]
    sweeps = change & np.isfinite(d_a) & np.isfinite(d_b)
    span = np.where(sweeps, np.maximum(d_a + d_b, 1.0), 1.0)  # a texel between both sides: a span of one texel
    g = np.clip((a - np.where(sweeps, d_b, 0.0) / span) * span / soft + 0.5, 0.0, 1.0)[..., None]
    return np.where(sweeps[..., None], (1 - g) * A + g * B, (1 - a) * A + a * B)


def oracle_blend(A: np.ndarray, B: np.ndarray, truth: np.ndarray, block: int) -> np.ndarray:
    d = B - A
    num, den = ((truth - A) * d).sum(-1), (d * d).sum(-1)
    if block > 1:
        h, w = num.shape
        h, w = h - h % block, w - w % block
        pool = lambda x: np.pad(  # noqa: E731
            x[:h, :w].reshape(h // block, block, w // block, block).sum((1, 3)).repeat(block, 0).repeat(block, 1),
            ((0, num.shape[0] - h), (0, num.shape[1] - w)), mode="edge")
        num, den = pool(num), pool(den)
    g = np.clip(num / np.maximum(den, 1e-20), 0.0, 1.0)[..., None]
    return (1 - g) * A + g * B


METHODS = ["crossfade", "catmull-rom", "flow", "edge-morph", "oracle-blend/1", "oracle-blend/8", "oracle-blend/32"]


def fill(method: str, train, t: float, truth: np.ndarray) -> np.ndarray:
    below, above, a = interpolation_weights(train.times, t)
    A, B = train.frames[below].astype(np.float64), train.frames[above].astype(np.float64)
    mask = train.masks[below]
    if method == "crossfade" or not is_day(t):  # the methods differ in the day; nights are static
        return (1 - a) * A + a * B
    if method == "catmull-rom":
        return catmull_rom(train.frames.astype(np.float64), train.times, t)
    if method == "flow":
        return flow_blend(A, B, mask, a)
    if method == "edge-morph":
        return edge_morph(A, B, mask, a)
    return oracle_blend(A, B, truth.astype(np.float64), int(method.split("/")[1]))


def main() -> None:
    from .suite import datasets

    rows = []
    for d in datasets("full", []):
        if d.kind != "tod" or d.unseen is None:
            continue
        for method in METHODS:
            frames = np.stack([fill(method, d.train, float(t), d.unseen.frames[i])
                               for i, t in enumerate(d.unseen.times)]).astype(np.float32)
            s = scores(d.unseen, frames)
            row = {"dataset": d.name, "method": method, "psnr_unseen": s["psnr_capped"],
                   "psnr_unseen_day": day_psnr(s["per_time"]),
                   "psnr_day_per_time": {t: p for t, p in s["per_time"].items() if is_day(t)}}
            print(json.dumps(row), flush=True)
            rows.append(row)
    atomic_write_bytes(RESULTS, json.dumps({"machine": machine_info(), "rows": rows}, indent=1).encode())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
