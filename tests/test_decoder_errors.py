"""Bad input to the decoder: one clear error, never a traceback or a garbage frame."""

import numpy as np
import pytest

from conftest import run_cli
from container_fixtures import sample_records
from model_fixtures import artifact, lightmap_for, random_model, variant_config
from todlm.decoder.api import Decoder
from todlm.format.container import ContainerError
from todlm.format.container_writer import write_container
from todlm.format.errors import FormatError


@pytest.fixture(scope="module")
def model_blob():
    return artifact(random_model(variant_config(0), 8, 6), lightmap_for(8, 6))


def test_container_without_a_model_is_refused(tmp_path):
    path = tmp_path / "plain.tlm"
    write_container(path, sample_records()[2:])
    with pytest.raises(ContainerError, match="holds no gridmlp model"):
        Decoder.open(path)
    write_container(path, sample_records()[:1])  # claims a gridmlp model but describes none
    with pytest.raises(FormatError, match="model config"):
        Decoder.open(path)


@pytest.mark.parametrize("variant, stored, schema, problem", [(5, 2, 7, "newer todlm"),
                                                              (5, 2, 1, "needs model schema 2"),
                                                              (10, 3, 2, "needs model schema 3"),
                                                              (14, 4, 3, "needs model schema 4"),
                                                              (17, 5, 4, "needs model schema 5"),
                                                              (19, 6, 5, "needs model schema 6")])
def test_model_schema_is_checked(tmp_path, variant, stored, schema, problem):
    """A time-basis model (variant 5) is schema 2, a latent-texture model (variant 10) schema 3,
    a detail-plane model (variant 14) schema 4, a knot-residual model (variant 17) schema 5 and a
    model with 8-bit MLP weights (variant 19) schema 6:
    an older schema would let an old decoder misread them."""
    from todlm.trainer.export import export_record
    from todlm.trainer.train_config import TrainConfig

    w, h = 8, 6
    record = export_record(random_model(variant_config(variant), w, h), lightmap_for(w, h), TrainConfig())
    assert record.metadata["model"]["schema"] == stored
    record.metadata["model"]["schema"] = schema
    path = tmp_path / "m.tlm"
    write_container(path, [record])
    with pytest.raises(ContainerError, match=problem):
        Decoder.open(path)


def test_cache_choices_the_model_cannot_take_are_refused(model_blob):
    fourier_basis = artifact(random_model(variant_config(6), 8, 6), lightmap_for(8, 6))
    assert Decoder.open(model_blob).cache == "none" and Decoder.open(fourier_basis).cache == "coefficients"
    with pytest.raises(ValueError, match="time-basis model"):
        Decoder.open(model_blob, cache="knots")
    with pytest.raises(ValueError, match="hat time encoding"):
        Decoder.open(fourier_basis, cache="knots")
    with pytest.raises(ValueError, match="cache must be one of"):
        Decoder.open(model_blob, cache="yes")


@pytest.mark.parametrize("planes", [None, [], [[0, 1], [0, 1]], [[2, 0]], [[0, 24]], [[0, True]], "x"])
def test_knot_residual_pairs_are_checked(tmp_path, planes):
    from todlm.trainer.export import export_record
    from todlm.trainer.train_config import TrainConfig

    record = export_record(random_model(variant_config(17), 8, 6), lightmap_for(8, 6), TrainConfig())
    record.metadata["model"]["knot_residual"]["planes"] = planes
    path = write_container(tmp_path / "m.tlm", [record])
    with pytest.raises(ContainerError, match="knot_residual.planes must list"):
        Decoder.open(path)


def test_a_knot_residual_cannot_take_the_coefficient_cache():
    blob = artifact(random_model(variant_config(17), 8, 6), lightmap_for(8, 6))
    assert Decoder.open(blob).cache == "knots"
    with pytest.raises(ValueError, match="cannot hold the knot residual"):
        Decoder.open(blob, cache="coefficients")


def test_several_lightmaps_need_a_choice(tmp_path):
    path = tmp_path / "two.tlm"
    write_container(path, sample_records())
    with pytest.raises(ContainerError, match="choose one"):
        Decoder.open(path)


@pytest.mark.parametrize("t", [float("nan"), -0.5, 24.01, float("inf")])
def test_times_outside_the_day_are_refused(model_blob, t):
    with pytest.raises(FormatError, match="hours"):
        Decoder.open(model_blob).decode_frame(t)


def test_samples_outside_the_map_are_refused(model_blob):
    d = Decoder.open(model_blob)
    for ys, xs, ts in (([6], [0], [1.0]), ([0], [-1], [1.0]), ([0.5], [0], [1.0]), ([0], [0], [30.0])):
        with pytest.raises(ValueError):
            d.sample(ys, xs, ts)
    assert d.sample([], [], []).shape == (0, 3)


def test_cli_decode_of_a_corrupt_file_is_one_line(tmp_path, model_blob):
    path = tmp_path / "m.tlm"
    path.write_bytes(model_blob[: len(model_blob) // 2])
    done = run_cli("decode", path, "--time", "3", "-o", tmp_path / "f.exr")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "m.tlm" in done.stderr
    assert not (tmp_path / "f.exr").exists()


def test_decoded_frames_are_finite_and_non_negative(model_blob):
    frame = Decoder.open(model_blob).decode_frame(17.0)
    assert np.all(np.isfinite(frame)) and frame.min() >= 0
