"""The benchmark's baselines do what they claim on small synthetic lightmaps, and a suite run
resumes from the rows already in its results file."""

import json

import numpy as np
import pytest

from conftest import run_cli
from todlm.bench import baselines, suite
from todlm.bench.baselines import Outcome
from todlm.bench.measure import interpolation_weights
from todlm.format.lightmap_set import LightmapSet

ROW_KEYS = {"method", "preset", "dataset", "bpts", "ratio", "psnr", "ssim", "lpips", "flip", "flicker",
            "psnr_unseen", "train_s", "decode_ms_cpu", "resident_bytes"}


def day(t: int = 6, h: int = 16, w: int = 24, seed: int = 0) -> LightmapSet:
    rng = np.random.default_rng(seed)
    times = np.array([7.0, 9.0, 11.0, 13.0, 15.0, 17.0][:t])
    yy, xx = np.meshgrid(np.linspace(0, 3, h), np.linspace(0, 3, w), indexing="ij")
    base = (0.2 + np.sin(yy)[..., None] ** 2 * np.cos(xx)[..., None] ** 2 * rng.uniform(0.5, 2.0, 3)
            + rng.uniform(0, 0.01, (h, w, 3)))
    frames = np.stack([base * (1 + 0.5 * np.sin(x / 4)) for x in times]).astype(np.float32)
    return LightmapSet(frames, times, np.ones((t, h, w), bool), name="synthetic")


def test_pca_with_every_component_is_exact_up_to_quantisation_and_its_size_is_counted():
    s = day()
    full = baselines.pca(s, k=6, bits=8)
    assert np.abs(full.frames - s.frames).max() < 0.05 * s.frames.max()
    one = baselines.pca(s, k=1)
    n = s.width * s.height * 3
    assert one.stored_bytes == n + 8 + n * 2 + 8 + s.n_times * 4  # basis, its range, 16-bit mean, weights
    assert full.stored_bytes > one.stored_bytes


def test_pca_unseen_times_blend_the_weights_of_the_neighbours():
    s = day()
    o = baselines.pca(s, k=6, unseen_times=[10.0])
    np.testing.assert_allclose(o.unseen[0], 0.5 * (o.frames[1] + o.frames[2]), rtol=0.05, atol=1e-3)


def test_interpolation_keeps_to_the_lamp_state():
    times = np.array([0.0, 5.9, 6.0, 12.0, 18.0, 18.1, 23.0])
    assert interpolation_weights(times, 3.0) == (0, 1, pytest.approx(3.0 / 5.9))
    below, above, _ = interpolation_weights(times, 18.5)
    assert (times[below], times[above]) == (18.1, 23.0)
    assert interpolation_weights(times, 12.0) == (3, 3, 0.0)


def test_fp16_and_astc_round_trip_with_their_sizes():
    s = day(t=2, h=16, w=24)
    half = baselines.fp16_zstd(s)
    assert np.abs(half.frames - s.frames).max() <= 2e-3 * s.frames.max()
    for block in (4, 8):
        o = baselines.astc_hdr(s, block)
        assert o.stored_bytes == s.n_times * (-(-16 // block)) * (-(-24 // block)) * 16
        assert o.frames.shape == s.frames.shape
        rel = np.abs(o.frames - s.frames).mean() / s.frames.mean()
        assert rel < (0.05 if block == 4 else 0.2)


def test_suite_writes_every_row_and_resumes(tmp_path, monkeypatch):
    s = day()
    data = [suite.Dataset("synthetic", "tod", s, None)]
    calls = []

    def fake(d):
        calls.append(d.name)
        return Outcome(1000, d.train.frames * 1.01, None, 1.0, 2000, 0.5, "fake")

    monkeypatch.setattr(suite, "datasets", lambda name, extra: data)
    monkeypatch.setattr(suite, "jobs", lambda name, d, keep=None: [suite.Job("a", "-", "synthetic", fake),
                                                        suite.Job("b", "-", "synthetic", fake)])
    out = tmp_path / "quick.json"
    first = suite.run_suite("quick", out)
    assert len(first["rows"]) == 2 and len(calls) == 2
    row = first["rows"][0]
    assert ROW_KEYS <= set(row) and row["bpts"] == pytest.approx(8000 / (16 * 24 * 6))
    assert 30 < row["psnr"] < 60 and row["flip"] > 0 and row["flicker"] >= 0
    assert row["lpips"] is None or 0 <= row["lpips"] <= 1
    results = json.loads(out.read_text())
    results["rows"] = results["rows"][:1]  # as if stopped after the first row
    out.write_text(json.dumps(results))
    again = suite.run_suite("quick", out)
    assert len(again["rows"]) == 2 and len(calls) == 3


def test_ratio_counts_the_hprc_bytes_and_bpts_the_stored_bytes():
    s = day()
    row = suite.measure(suite.Dataset("synthetic", "tod", s, None),
                        Outcome(1000, s.frames, None, 1.0, 2000, 0.5, "zstd sections", hprc_bytes=3000), None)
    assert row["bpts"] == pytest.approx(8000 / (16 * 24 * 6)) and row["hprc_bytes"] == 3000
    assert row["ratio"] == pytest.approx(3000 / (16 * 24 * 3 * 4 * 24))


def test_only_runs_the_named_datasets_and_keeps_the_other_rows(tmp_path, monkeypatch):
    data = [suite.Dataset("sample", "tod", day(), None), suite.Dataset("tod/yard", "tod", day(), None)]
    calls = []

    def fake(d):
        calls.append(d.name)
        return Outcome(1000, d.train.frames * 1.01, None, 1.0, 2000, 0.5, "fake")

    monkeypatch.setattr(suite, "datasets", lambda name, extra: data)
    monkeypatch.setattr(suite, "jobs", lambda name, ds, keep=None: [suite.Job("a", "-", d.name, fake) for d in ds])
    out = tmp_path / "full.json"
    suite.run_suite("full", out, only=["tod/"])
    assert calls == ["tod/yard"]
    both = suite.run_suite("full", out, only=["sample"])
    assert calls == ["tod/yard", "sample"] and len(both["rows"]) == 2 and set(both["datasets"]) == {"sample", "tod/yard"}
    with pytest.raises(ValueError, match="no dataset"):
        suite.run_suite("full", out, only=["nothing"])


def test_preset_keeps_the_baselines_and_that_todlm_preset(tmp_path, monkeypatch):
    data = [suite.Dataset("sample", "tod", day(), None)]
    calls = []

    def fake(d):
        return Outcome(1000, d.train.frames * 1.01, None, 1.0, 2000, 0.5, "fake")

    def job(method, preset):
        return suite.Job(method, preset, "sample", lambda d: calls.append(preset) or fake(d))

    monkeypatch.setattr(suite, "datasets", lambda name, extra: data)
    monkeypatch.setattr(suite, "jobs", lambda name, ds, keep=None: [job("pca", "k=2"), job("todlm", "fast"),
                                                         job("todlm", "default")])
    out = tmp_path / "full.json"
    suite.run_suite("full", out, presets=["fast"])
    assert calls == ["k=2", "fast"]
    with pytest.raises(ValueError, match="huge"):
        suite.run_suite("full", out, presets=["huge"])


def test_method_runs_only_that_methods_jobs(tmp_path, monkeypatch):
    data = [suite.Dataset("sample", "tod", day(), None)]
    calls = []

    def job(method, preset):
        return suite.Job(method, preset, "sample", lambda d: calls.append(method) or
                         Outcome(1000, d.train.frames * 1.01, None, 1.0, 2000, 0.5, "fake"))

    monkeypatch.setattr(suite, "datasets", lambda name, extra: data)
    monkeypatch.setattr(suite, "jobs", lambda name, ds, keep=None: [job("pca", "k=2"), job("ndgi-recipe", "M"),
                                                         job("todlm", "fast")])
    out = tmp_path / "full.json"
    suite.run_suite("full", out, methods=["ndgi-recipe"])
    assert calls == ["ndgi-recipe"]
    with pytest.raises(ValueError, match="not a method of the full suite"):
        suite.run_suite("full", out, methods=["jpeg"])


def test_redo_retrains_only_the_selected_todlm_rows(tmp_path, monkeypatch):
    data = [suite.Dataset("sample", "tod", day(), None), suite.Dataset("tod/yard", "tod", day(), None)]
    calls = []

    def job(method, preset, name):
        def run(d):
            calls.append((method, preset, name))
            return Outcome(1000, d.train.frames * 1.01, None, 1.0, 2000, 0.5, "fake")
        return suite.Job(method, preset, name, run)

    monkeypatch.setattr(suite, "datasets", lambda name, extra: data)
    pairs = (("pca", "k=2"), ("todlm", "fast"), ("todlm", "max"))
    monkeypatch.setattr(suite, "jobs", lambda name, ds, keep=None: [job(m, p, d.name) for d in ds for m, p in pairs])
    out = tmp_path / "full.json"
    suite.run_suite("full", out)
    assert len(calls) == 6
    calls.clear()
    again = suite.run_suite("full", out, only=["sample"], presets=["fast"], redo=True)
    assert calls == [("todlm", "fast", "sample")] and len(again["rows"]) == 6
    assert all(r["measured"] for r in again["rows"])


def test_bench_cli_rejects_an_unknown_suite_and_a_missing_dataset(tmp_path):
    done = run_cli("bench", "--suite", "huge")
    assert done.returncode != 0 and "quick or full" in done.stderr
    done = run_cli("bench", "--data", tmp_path / "nowhere", "--out", tmp_path / "r.json")
    assert done.returncode == 1 and "nowhere" in done.stderr and "Traceback" not in done.stderr


def test_rd_summary_reads_rates_and_equal_rate_comparisons():
    from todlm.bench.rd_summary import bpts_for_psnr, summarise

    def row(method, preset, bpts, psnr, flip):
        return {"method": method, "preset": preset, "dataset": "d", "bpts": bpts, "psnr": psnr, "flip": flip}

    rows = [row("astc-hdr", "8x8", 2.0, 31.0, 0.09), row("astc-hdr", "4x4", 8.0, 49.0, 0.02),
            row("pca", "k=2", 4.0, 36.0, 0.2), row("pca", "k=4", 8.0, 54.0, 0.1),
            row("fp16+zstd", "-", 19.0, 60.0, 0.0), row("todlm", "fast", 1.0, 38.0, 0.1),
            row("todlm", "max", 3.0, 46.0, 0.05)]
    astc = bpts_for_psnr(rows, "d", "astc-hdr")
    assert 2.0 < astc["bpts"] < 8.0 and astc["max_measured_bpts"] == 8.0
    assert abs(bpts_for_psnr(rows, "d", "pca")["bpts"] - 4.0 * 2 ** 0.5) < 1e-9  # halfway in log rate
    assert bpts_for_psnr(rows, "d", "todlm")["bpts"] == 3.0
    assert bpts_for_psnr(rows, "d", "todlm", 50.0)["bpts"] is None
    fast = summarise(rows)["d"]["at_todlm_rate"]["fast"]
    assert fast["astc-hdr"] == {"psnr": 31.0, "flip": 0.09, "read_at_bpts": 2.0,
                                "todlm_better": None}  # lost on FLIP to a point with twice the bits: no verdict
    assert fast["pca"]["todlm_better"] is True and "fp16+zstd" not in fast
    assert summarise(rows)["d"]["at_todlm_rate"]["max"]["astc-hdr"]["todlm_better"] is True
    rows.append(row("todlm", "small", 2.5, 30.0, 0.2))
    assert summarise(rows)["d"]["at_todlm_rate"]["small"]["astc-hdr"]["todlm_better"] is False  # inside its range


def test_trainer_bench_resumes_after_an_interruption(tmp_path, monkeypatch):
    from todlm.bench import trainer_bench

    calls = []

    def fake_train(train, preset_name, unseen=None, sets=()):
        if len(calls) == 2 and not any(c == "interrupted" for c in calls):
            calls.append("interrupted")
            raise KeyboardInterrupt
        calls.append((preset_name, tuple(sets)))
        return {"preset": preset_name, "psnr": float(len(calls))}

    monkeypatch.setattr(trainer_bench, "train_and_measure", fake_train)
    out = tmp_path / "trainer.json"
    argv = ["trainer_bench", "--out", str(out), "--unity", str(tmp_path / "absent")]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(KeyboardInterrupt):
        trainer_bench.main()
    assert not out.exists() and len(json.loads((tmp_path / "trainer.partial.json").read_text())) == 2
    trainer_bench.main()
    off = "train.temporal=false"
    seeds = [c for s in trainer_bench.TEMPORAL_SEEDS
             for c in (("default", (f"train.seed={s}",)), ("default", (off, f"train.seed={s}")))]
    variants = ["default-temporal-l1", "default-8000-steps", "default-2bit-detail", "default-tile-0.5-ssim-0.03"]
    assert [c for c in calls if c != "interrupted"] == [("fast", ()), ("fast", (off,)), ("default", ()),
                                                       ("default", (off,)), *[(v, ()) for v in variants], *seeds]
    result = json.loads(out.read_text())
    assert [r["preset"] for r in result["sample"]] == ["fast", "fast", "default", "default", *variants,
                                                       *["default"] * len(seeds)]
    assert result["unity_multi"] == [] and not (tmp_path / "trainer.partial.json").exists()


def test_every_suite_variant_is_its_base_with_its_overrides_and_a_note():
    from todlm.bench.presets import bench_document, bench_preset, suite_presets, variant_table
    from todlm.trainer.run_config import preset_document

    def flat(doc, prefix=""):
        return {k2: v2 for k, v in doc.items()
                for k2, v2 in (flat(v, f"{prefix}{k}.").items() if isinstance(v, dict) else [(prefix + k, v)])}

    for name in suite_presets("quick") + suite_presets("full"):
        p = bench_preset(name)
        p.model.validate()
        assert p.note and p.method.startswith(("todlm", "hprc-")), name
        entry = variant_table()["variants"].get(name)
        if entry is None:
            assert bench_document(name) == preset_document(name)
            continue
        base, mine = flat(preset_document(entry["base"])), flat(bench_document(name))
        assert {k for k in mine if mine[k] != base[k]} == set(entry["set"]), name
    with pytest.raises(ValueError, match="unknown benchmark preset"):
        bench_preset("default-nonsense")


def test_keep_leaves_each_todlm_rows_tlm_in_the_folder(tmp_path, monkeypatch):
    from dataclasses import replace

    from conftest import tiny_set
    from todlm.bench import presets
    from todlm.decoder.api import Decoder

    real = presets.bench_preset

    def short(name):
        p = real(name)
        p.train = replace(p.train, steps=3, quant_finetune=0)
        return p

    monkeypatch.setattr(presets, "bench_preset", short)
    d = suite.Dataset("tod/tiny", "tod", tiny_set(), None)
    outcome = suite.todlm_run("fast", keep=tmp_path / "kept")(d)
    kept = tmp_path / "kept" / "tod_tiny-fast.tlm"
    assert kept.stat().st_size == outcome.stored_bytes
    assert 0 < outcome.decode_ms < 1e3  # timed in a process of its own
    assert Decoder.open(kept).decode_frame(12.0).shape == (d.train.height, d.train.width, 3)
