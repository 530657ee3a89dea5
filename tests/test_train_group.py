"""Lightmaps of one shape trained as one stacked model (loop.train_group): each member ends as the
model it would be trained alone, a group resumes exactly, and a level trained in groups splits
the same way from a stream as from its index, and resumes between two members' exports."""

import copy

import numpy as np
import pytest
import torch

from conftest import container_contents, tiny_set
from test_trainer import tiny_config
from todlm.format.hprc import write_hprc
from todlm.trainer.dataset_train import shape_groups, train_dataset
from todlm.trainer.loop import train_group, train_lightmap
from todlm.trainer.quant_finetune import decoded_psnr, shipped_record
from todlm.trainer.run_config import from_document, preset_document, with_sets
from todlm.trainer.train_config import TrainConfig


def members(count=3):
    """Lightmaps of one shape with their own content, peaks (value scales) and times' masks."""
    sets = [tiny_set(seed=s, lid=s) for s in range(count)]
    for i, lm in enumerate(sets):
        lm.frames *= np.float32(4.0 ** i)
    return sets


CASES = {"basis, detail, SSIM, fine-tune": (dict(k=2, detail=1), dict(ssim_weight=0.1, ssim_patch=11, quant_finetune=10,
                                                                      tile_psnr=0.75)),
         "time-input MLP, hashed, SSIM": (dict(hashed=True), dict(ssim_weight=0.1, ssim_patch=11)),
         "latent, QAT": (dict(latent=2), dict(qat_fraction=0.3)),
         "sun window, fine-tune": (dict(k=2, sun=2), dict(quant_finetune=10))}


@pytest.mark.parametrize("case", CASES)
def test_each_member_of_a_group_is_the_model_it_would_be_alone(case):
    config_args, train_args = CASES[case]
    train = TrainConfig(steps=30, batch=128, seed=1, **train_args)
    lightmaps = members()
    alone = [train_lightmap(lm, tiny_config(**config_args), train) for lm in lightmaps]
    group = train_group(lightmaps, [tiny_config(**config_args) for _ in lightmaps], train)
    for lm, a, g in zip(lightmaps, alone, group):
        assert a.model.config.value.scale == g.model.config.value.scale  # each member's own
        sa, sg = a.model.state_dict(), g.model.state_dict()
        for name in sa:
            assert torch.allclose(sa[name].float(), sg[name].float(), atol=2e-4), name  # float sums' order only
        assert [h["step"] for h in a.history] == [h["step"] for h in g.history]
        assert (a.float_model is None) == (g.float_model is None)
        psnr_a = decoded_psnr(shipped_record(a.model, a.float_model, lm, train), lm)
        psnr_g = decoded_psnr(shipped_record(g.model, g.float_model, lm, train), lm)
        assert abs(psnr_a - psnr_g) < 0.01


def test_a_group_resumes_exactly_inside_the_fine_tune(tmp_path):
    train = TrainConfig(steps=20, batch=128, checkpoint_every=5, seed=2, quant_finetune=10, ssim_weight=0.1,
                        ssim_patch=11)
    lightmaps = members(2)
    straight = train_group(lightmaps, [tiny_config(k=2, detail=1) for _ in lightmaps], train)
    ckpt = tmp_path / "group.ckpt"
    train_group(lightmaps, [tiny_config(k=2, detail=1) for _ in lightmaps], train, checkpoint=ckpt, stop_after=23)
    resumed = train_group(lightmaps, [tiny_config(k=2, detail=1) for _ in lightmaps], train, checkpoint=ckpt)
    for s, r in zip(straight, resumed):
        assert r.steps == 30
        for name, value in s.model.state_dict().items():
            assert torch.equal(value, r.model.state_dict()[name]), name
        for name, value in s.float_model.state_dict().items():
            assert torch.equal(value, r.float_model.state_dict()[name]), name
    with pytest.raises(ValueError, match="checkpoint of other lightmaps"):
        train_group(lightmaps[::-1], [tiny_config(k=2, detail=1) for _ in lightmaps], train, checkpoint=ckpt)


def test_a_group_is_one_shape():
    with pytest.raises(ValueError, match="one size and time count"):
        train_group([tiny_set(), tiny_set(w=24)], [tiny_config(), tiny_config()], TrainConfig(steps=2, batch=16))


def test_shape_groups_cut_each_shape_in_order():
    items = [("a", 1), ("b", 2), ("c", 1), ("d", 1), ("e", 2), ("f", 1), ("g", 3)]
    groups = list(shape_groups(items, 2, lambda item: item[1]))
    assert [[name for name, _ in g] for g in groups] == [["a", "c"], ["b", "e"], ["d", "f"], ["g"]]  # each as it fills
    assert list(shape_groups(items, 1, lambda item: item[1])) == [[item] for item in items]


def test_a_level_in_groups_resumes_between_two_members_exports(tmp_path, monkeypatch):
    sets = [tiny_set(seed=s, lid=s, level="L") for s in range(3)] + [tiny_set(seed=9, lid=9, level="L", w=16)]
    write_hprc(tmp_path / "level", sets)
    doc = with_sets(preset_document("fast"), ["train.steps=6", "train.quant_finetune=2", "train.group=2"])

    p = from_document(doc)
    rows = train_dataset(tmp_path / "level", tmp_path / "straight.tlm", p)
    assert [(r["level"], r["id"]) for r in rows] == [("L", 0), ("L", 1), ("L", 2), ("L", 9)]  # the input's order

    import todlm.trainer.dataset_train as dataset_train

    real, calls = dataset_train.shipped_record, []

    def crash_on_the_second_export(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_train, "shipped_record", crash_on_the_second_export)
    with pytest.raises(KeyboardInterrupt):
        train_dataset(tmp_path / "level", tmp_path / "resumed.tlm", p)
    work = tmp_path / "resumed.tlm.work"
    assert (work / "L__0.tlm").exists() and (work / "L__0.ckpt").exists() and not (work / "L__1.tlm").exists()
    monkeypatch.setattr(dataset_train, "shipped_record", real)
    train_dataset(tmp_path / "level", tmp_path / "resumed.tlm", p)
    assert container_contents(tmp_path / "resumed.tlm") == container_contents(tmp_path / "straight.tlm")
