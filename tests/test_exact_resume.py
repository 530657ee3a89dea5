"""An interrupted `todlm train` resumes to the same file: Ctrl-C (SIGINT) landing inside a step,
before, at and inside the quantised fine-tune, or during the export after training; the resumed
container equals the uninterrupted one in every section and in its metadata (but the seconds)."""

import signal

import pytest

from conftest import container_contents, tiny_set
from todlm.format.hprc import write_hprc
from todlm.format.model_config import BasisConfig, DetailConfig, GridConfig, MLPConfig, ModelConfig
from todlm.trainer import loop
from todlm.trainer.dataset_train import train_dataset
from todlm.trainer.run_config import Preset
from todlm.trainer.train_config import TrainConfig

STEPS, FINETUNE = 24, 8


@pytest.fixture(scope="module")
def level(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    write_hprc(root / "hprc", [tiny_set(h=16, w=24, lid=0), tiny_set(h=12, w=20, seed=1, lid=1)])
    return root


def preset() -> Preset:
    model = ModelConfig(grid=GridConfig([4, 8], channels=2), mlp=MLPConfig(hidden=8, layers=1),
                        basis=BasisConfig(k=2), detail=DetailConfig(channels=1, bits=2))
    return Preset(model, TrainConfig(steps=STEPS, quant_finetune=FINETUNE, batch=64, checkpoint_every=5, seed=2,
                                     ssim_weight=0.05, ssim_patch=11))


@pytest.fixture(scope="module")
def straight(level):
    out = level / "straight.tlm"
    train_dataset(level / "hprc", out, preset())
    return container_contents(out)


@pytest.mark.parametrize("lightmap, at_step", [(0, 3), (0, STEPS), (1, STEPS + 3), (1, STEPS + FINETUNE)])
def test_sigint_inside_a_step_resumes_to_the_same_file(level, straight, tmp_path, monkeypatch, lightmap, at_step):
    real = loop.basis_batch_loss
    calls = {"lightmap": -1, "step": 0, "fired": False}

    def loss_with_a_sigint(model, data, idx, train, frac):
        if model is not calls.get("model"):
            calls.update(model=model, lightmap=calls["lightmap"] + 1, step=0)
        calls["step"] += 1
        if not calls["fired"] and calls["lightmap"] == lightmap and calls["step"] == at_step:
            calls["fired"] = True
            signal.raise_signal(signal.SIGINT)  # lands mid-step, between the batch draw and the update
        return real(model, data, idx, train, frac)

    monkeypatch.setattr(loop, "basis_batch_loss", loss_with_a_sigint)
    out = tmp_path / "m.tlm"
    with pytest.raises(KeyboardInterrupt):
        train_dataset(level / "hprc", out, preset())
    assert calls["fired"] and not out.exists()
    monkeypatch.setattr(loop, "basis_batch_loss", real)
    train_dataset(level / "hprc", out, preset())
    assert container_contents(out) == straight


def test_an_interrupt_during_export_resumes_to_the_same_file(level, straight, tmp_path, monkeypatch):
    from todlm.trainer import quant_finetune

    real = quant_finetune.decoded_frames

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(quant_finetune, "decoded_frames", interrupted)
    out = tmp_path / "m.tlm"
    with pytest.raises(KeyboardInterrupt):
        train_dataset(level / "hprc", out, preset())
    monkeypatch.setattr(quant_finetune, "decoded_frames", real)
    train_dataset(level / "hprc", out, preset())
    assert container_contents(out) == straight
