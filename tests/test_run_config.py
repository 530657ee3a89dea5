"""A run is one JSON document: presets load from the package, --set reaches every field and
names a bad one, --steps keeps the fine-tune's share, and a printed document trains the same
run it was printed from."""

import json

import pytest

from todlm.format.model_config import ModelConfig
from todlm.trainer.run_config import (PRESETS, document_text, from_document, preset, preset_document, read_document,
                                      with_sets, with_steps)
from todlm.trainer.train_config import TrainConfig


@pytest.mark.parametrize("name", PRESETS)
def test_presets_are_complete_valid_documents(name):
    doc = preset_document(name)
    p = from_document(doc)
    assert p.to_json() == doc  # every field is written out: nothing hides in a code default
    assert json.loads(document_text(doc)) == doc


def test_sets_reach_model_parts_and_training_fields():
    doc = with_sets(preset_document("fast"), ["grid.channels=3", "model.detail.bits=4", "train.steps=77",
                                              "grid.resolutions=[8, 16]", "value.transform=linear",
                                              "train.temporal=false", "train.quant_percentile=99.5"])
    p = from_document(doc)
    assert (p.model.grid.channels, p.model.detail.bits, p.model.grid.resolutions) == (3, 4, [8, 16])
    assert (p.train.steps, p.train.temporal, p.train.quant_percentile) == (77, False, 99.5)
    assert p.model.value.transform == "linear"
    assert preset("fast").model.grid.channels != 3  # the preset itself is untouched


@pytest.mark.parametrize("item, named", [("grid.chanels=3", "grid.chanels"), ("nonsense=1", "train.nonsense"),
                                         ("grid.channels=x", "whole number"), ("train.steps=2.5", "whole number"),
                                         ("train.temporal=1", "true/false"), ("grid.channels=0", "grid.channels"),
                                         ("train.steps=0", "train.steps"), ("train.qat_fraction=2", "qat_fraction"),
                                         ("basis.k=0", "detail"), ("grid.channels", "PATH=VALUE"),
                                         ("grid.channels.x=1", "not a section")])
def test_a_bad_set_names_the_field_and_the_problem(item, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        with_sets(preset_document("default"), [item])


def test_sets_apply_together_so_a_consistent_change_passes():
    """Dropping the time basis is valid only with the detail plane dropped too: checked at the end."""
    p = from_document(with_sets(preset_document("fast"), ["basis.k=0", "detail.channels=0",
                                                          "knot_residual.downsample=0"]))
    assert p.model.basis.k == 0 and p.model.mlp_inputs > p.model.grid_features


def test_steps_scale_the_quantised_finetune():
    doc = with_steps(preset_document("default"), 1200)
    full = preset("default").train
    assert doc["train"]["steps"] == 1200
    assert doc["train"]["quant_finetune"] == round(full.quant_finetune * 1200 / full.steps)


def test_a_document_missing_fields_takes_the_defaults_and_a_broken_file_is_one_line(tmp_path):
    assert from_document({"model": {"mlp": {"hidden": 8}}}).model == ModelConfig(mlp=ModelConfig().mlp.__class__(8))
    assert from_document({}).train == TrainConfig()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: not a JSON config"):
        read_document(broken)
    with pytest.raises(ValueError, match="absent.json: cannot read"):
        read_document(tmp_path / "absent.json")
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"model": {}, "train": {}, "trian": {}}))
    with pytest.raises(ValueError, match="extra.json: a config is an object"):
        read_document(extra)
