"""The benchmark level: the HPRC size mix cut from the TOD bakes, reproducible for a seed, frames
and masks cut alike, written as an HPRC folder the trainer reads."""

import numpy as np
import pytest

from todlm.bench.level import build_level, parse_mix
from todlm.format.sample import load_sample
from todlm.format.sources import iter_lightmaps

MIX = {(512, 256): 1, (256, 256): 1, (128, 64): 2}


def test_a_level_is_the_mix_cut_alike_and_reproducible(tmp_path):
    sample = load_sample().train
    build_level(tmp_path / "a", MIX, seed=3, bakes=[sample])
    build_level(tmp_path / "b", MIX, seed=3, bakes=[sample])
    level = list(iter_lightmaps(tmp_path / "a"))
    assert sorted((s.width, s.height) for s in level) == [(128, 64), (128, 64), (256, 256), (512, 256)]
    assert len({s.key for s in level}) == 4 and all(s.level == "L_Bench" for s in level)
    for s, again in zip(level, iter_lightmaps(tmp_path / "b")):
        np.testing.assert_array_equal(s.frames, again.frames)
        assert np.array_equal(s.times, sample.times)
        assert not s.frames[~s.masks].any()  # the sample is 0 off its mask: a cut keeps frames and masks together
        ratio = s.frames[s.masks].max() / sample.frames[sample.masks].max()
        assert 0.2 < ratio < 5  # one exposure change of at most 4x per chart
    assert "How it differs from a real level" in (tmp_path / "a" / "README.md").read_text()
    assert list(iter_lightmaps(tmp_path / "a"))[0].frames.shape == (26, 256, 512, 3)


def test_a_bad_mix_is_one_line():
    assert parse_mix("1024x512=8,128x64=4") == {(1024, 512): 8, (128, 64): 4}
    for bad in ("1024x512", "axb=2", "128x64=0", "0x64=1"):
        with pytest.raises(ValueError, match="--mix"):
            parse_mix(bad)


def test_a_levels_submission_splits_into_payload_and_overhead_and_decodes(tmp_path):
    from todlm.bench.level_export import judge_decode, parameters_split
    from todlm.decoder.hprc_export import export_hprc
    from todlm.format.container import Container
    from todlm.trainer.dataset_train import train_dataset
    from todlm.trainer.run_config import from_document, preset_document, with_steps

    build_level(tmp_path / "level", {(32, 16): 2}, seed=1, bakes=[load_sample().train])
    train_dataset(tmp_path / "level", tmp_path / "level.tlm", from_document(with_steps(preset_document("fast"), 4)))
    export_hprc(tmp_path / "level.tlm", tmp_path / "submission")
    parameters = tmp_path / "submission" / "Parameters" / "model.tlm"
    split = parameters_split(parameters)
    with Container.open(parameters) as c:
        sections = sum(s.length for lm in c.lightmaps for s in lm.sections.values())
    assert split["payload_bytes"] == sections and split["parameters_bytes"] == parameters.stat().st_size
    assert split["overhead_bytes"] == split["parameters_bytes"] - sections > 0 and split["lightmaps"] == 2
    timing = judge_decode(tmp_path / "submission", [("L_Bench", 0), ("L_Bench", 1)])
    assert timing["times"] == 26 and timing["level_s"] > 0
