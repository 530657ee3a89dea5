"""The HPRC metrics against a direct numpy transcription of ../shared/docs/hprc-protocol.md."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from conftest import shared_data
from todlm.format import HPRCDataset, iter_lightmaps, load_sample
from todlm.metrics import HPRCEvaluator, evaluate_lightmap, ssim_torchmetrics


def reference_ssim(rec, gt, data_range):
    """Transcription: 2D Gaussian window (11, sigma 1.5) over a reflect-padded tile, per channel."""
    x = np.arange(11) - 5.0
    g = np.exp(-(x / 1.5) ** 2 / 2)
    g /= g.sum()
    kernel = np.outer(g, g)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for c in range(3):
        p = np.pad(rec[..., c].astype(np.float64), 5, mode="reflect")
        t = np.pad(gt[..., c].astype(np.float64), 5, mode="reflect")

        def blur(img):
            return np.einsum("ijkl,kl->ij", sliding_window_view(img, (11, 11)), kernel)

        mp, mt = blur(p), blur(t)
        vp = np.maximum(blur(p * p) - mp ** 2, 0)
        vt = np.maximum(blur(t * t) - mt ** 2, 0)
        cov = blur(p * t) - mp * mt
        values.append(((2 * mp * mt + c1) * (2 * cov + c2)) / ((mp ** 2 + mt ** 2 + c1) * (vp + vt + c2)))
    return float(np.mean(values))


def reference_hprc(frames_gt, frames_rec, masks):
    psnrs, ssims = [], []
    for gt, rec, mask in zip(frames_gt, frames_rec, masks):
        rec = rec.copy()
        rec[~mask] = 0  # the harness zeroes invalid texels in place
        for y0 in range(0, gt.shape[0], 256):
            for x0 in range(0, gt.shape[1], 256):
                g, r, m = gt[y0:y0 + 256, x0:x0 + 256], rec[y0:y0 + 256, x0:x0 + 256], mask[y0:y0 + 256, x0:x0 + 256]
                if m.sum() == 0 or g.max() == 0:
                    continue
                gv, rv = g[m].astype(np.float64), r[m].astype(np.float64)
                psnrs.append(10 * np.log10(gv.max() ** 2 / np.mean((gv - rv) ** 2)))
                ssims.append(reference_ssim(r, g, float(g.max()) - float(g.min())))
    return np.mean(psnrs), np.mean(ssims), len(psnrs)


def degrade(frames, seed=0):
    rng = np.random.default_rng(seed)
    noisy = frames * (1 + 0.05 * rng.standard_normal(frames.shape)) + 0.01 * rng.random(frames.shape)
    return np.maximum(noisy, 0).astype(np.float32)


def check_against_reference(gt_frames, masks, rec):
    evaluator = HPRCEvaluator()
    for g, r, m in zip(gt_frames, rec, masks):
        evaluator.add_frame(g, r, m)
    got = evaluator.summary()
    psnr, ssim, tiles = reference_hprc(gt_frames, rec, masks)
    assert got["tiles"] == tiles > 0
    assert got["psnr"] == pytest.approx(psnr, abs=1e-9)
    assert got["ssim"] == pytest.approx(ssim, abs=1e-9)
    assert got["lpips"] is None


def test_matches_reference_on_bundled_sample():
    s = load_sample().train.select([0, 6, 7, 12, 20])
    check_against_reference(s.frames, s.masks, degrade(s.frames))


def test_matches_reference_on_shared_courtyard():
    lm = next(iter(HPRCDataset(shared_data("tod", "courtyard", "train")))).select([0, 6, 13])
    check_against_reference(lm.frames, lm.masks, degrade(lm.frames, seed=1))


@pytest.mark.parametrize("name", ["lightmap_1288_0.exr", "lightmap_109_0.exr"])
def test_matches_reference_on_hprc_ground_truth(name):
    (lm,) = list(iter_lightmaps(shared_data("hprc-t0", name)))
    check_against_reference(lm.frames, lm.masks, degrade(lm.frames, seed=2))


def test_skip_rules_edges_and_pooling():
    rng = np.random.default_rng(3)
    gt = rng.random((300, 520, 3)).astype(np.float32)
    mask = np.ones((300, 520), bool)
    mask[:256, :256] = False  # tile (0,0): no valid texel -> skipped
    gt[:256, 256:512] = 0  # tile (0,1): GT max 0 -> skipped
    rec = gt + 0.01
    evaluator = HPRCEvaluator()
    frame = evaluator.add_frame(gt, rec, mask)
    assert frame["tiles"] == 4  # 2 x 3 tiles (edges: 44 rows, 8 columns), two skipped
    evaluator.add_frame(gt, gt, mask)  # perfect frame: +inf PSNR pushes the mean to inf
    assert evaluator.summary()["psnr"] == np.inf and evaluator.summary()["tiles"] == 8


def test_evaluate_lightmap_reports_flip_and_flicker():
    s = load_sample().train.select([6, 7, 8])
    same = evaluate_lightmap(s, s.frames.copy())
    assert same["flip"] == 0 and same["flicker"] == 0 and same["ssim"] == pytest.approx(1.0)
    noisy = evaluate_lightmap(s, degrade(s.frames))
    assert 0 < noisy["flip"] < 1 and noisy["flicker"] > 0 and noisy["psnr"] < 60


def test_ssim_agrees_with_torchmetrics():
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics")
    s = load_sample().train
    rng = np.random.default_rng(4)
    cases = [(s.frames[20][:256, :200], degrade(s.frames[20][:256, :200])),
             (rng.gamma(0.3, 5.0, (64, 80, 3)), rng.gamma(0.3, 5.0, (64, 80, 3))),
             (s.frames[12][100:140, 30:90], s.frames[12][100:140, 30:90] * 1.1)]
    for gt, rec in cases:
        data_range = float(gt.max() - gt.min())
        for dtype in (torch.float64, torch.float32):
            metric = tm.image.StructuralSimilarityIndexMeasure(data_range=data_range).to(dtype)
            to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[None])).to(dtype)
            expected = float(metric(to_t(rec), to_t(gt)))
            assert ssim_torchmetrics(rec, gt, data_range) == pytest.approx(expected, abs=1e-5)
