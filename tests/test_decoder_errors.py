"""Bad input to the decoder: one clear error, never a traceback or a garbage frame."""

import numpy as np
import pytest

from conftest import run_cli
from container_fixtures import sample_records
from model_fixtures import lightmap_for, variant_config
from todlm.bench.random_model import numpy_artifact, numpy_record
from todlm.decoder.api import Decoder
from todlm.format.container import ContainerError
from todlm.format.container_writer import write_container
from todlm.format.errors import FormatError


@pytest.fixture(scope="module")
def model_blob():
    return numpy_artifact(variant_config(0), lightmap_for(8, 6))


def test_container_without_a_model_is_refused(tmp_path):
    path = tmp_path / "plain.tlm"
    write_container(path, sample_records()[2:])
    with pytest.raises(ContainerError, match="holds no gridmlp model"):
        Decoder.open(path)
    write_container(path, sample_records()[:1])  # claims a gridmlp model but describes none
    with pytest.raises(FormatError, match="model config"):
        Decoder.open(path)


@pytest.mark.parametrize("variant, features", [(0, ["baseline_image"]), (5, ["baseline_image", "time_basis"]),
                                               (8, ["hash_grid", "baseline_image"]),
                                               (10, ["baseline_image", "latent_texture"]),
                                               (14, ["baseline_image", "time_basis", "detail_plane"]),
                                               (17, ["time_basis", "detail_plane", "knot_residual"]),
                                               (19, ["time_basis", "detail_plane", "mlp_uint8"])])
def test_a_model_declares_its_features_and_a_decoder_names_what_it_lacks(tmp_path, variant, features):
    record = numpy_record(variant_config(variant), lightmap_for(8, 6))
    assert record.metadata["model"]["features"] == features
    path = tmp_path / "m.tlm"
    meta = record.metadata["model"]
    meta["features"] = features + ["warp_field"]
    write_container(path, [record])
    with pytest.raises(ContainerError, match="needs model feature.s. warp_field, which this decoder lacks"):
        Decoder.open(path)
    meta["features"] = features[:-1]
    write_container(path, [record])
    with pytest.raises(ContainerError, match=f"its config uses {features[-1]}, which its feature list does not"):
        Decoder.open(path)
    del meta["features"]
    meta["schema"] = 6  # written before feature lists: schema n allowed the first n + 1 features
    write_container(path, [record])
    assert Decoder.open(path).decode_frame(3.0).shape == (6, 8, 3)
    meta["schema"] = 1
    write_container(path, [record])
    if set(features) <= {"hash_grid", "baseline_image"}:
        Decoder.open(path)
    else:
        with pytest.raises(ContainerError, match="which its feature list does not declare"):
            Decoder.open(path)
    del meta["schema"]
    write_container(path, [record])
    with pytest.raises(ContainerError, match="neither a feature list nor a known schema"):
        Decoder.open(path)


def test_cache_choices_the_model_cannot_take_are_refused(model_blob):
    fourier_basis = numpy_artifact(variant_config(6), lightmap_for(8, 6))
    assert Decoder.open(model_blob).cache == "none" and Decoder.open(fourier_basis).cache == "coefficients"
    with pytest.raises(ValueError, match="time-basis model"):
        Decoder.open(model_blob, cache="knots")
    with pytest.raises(ValueError, match="hat time encoding"):
        Decoder.open(fourier_basis, cache="knots")
    with pytest.raises(ValueError, match="cache must be one of"):
        Decoder.open(model_blob, cache="yes")


@pytest.mark.parametrize("planes", [None, [], [[0, 1], [0, 1]], [[2, 0]], [[0, 24]], [[0, True]], "x"])
def test_knot_residual_pairs_are_checked(tmp_path, planes):
    record = numpy_record(variant_config(17), lightmap_for(8, 6))
    record.metadata["model"]["knot_residual"]["planes"] = planes
    path = write_container(tmp_path / "m.tlm", [record])
    with pytest.raises(ContainerError, match="knot_residual.planes must list"):
        Decoder.open(path)


def test_a_knot_residual_cannot_take_the_coefficient_cache():
    blob = numpy_artifact(variant_config(17), lightmap_for(8, 6))
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
