import json

import numpy as np
import pytest

from conftest import shared_data, tiny_set
from todlm.format import (FormatError, iter_lightmaps, read_exr, read_hdr, read_sequence, write_exr, write_hdr,
                          write_sequence)


@pytest.mark.parametrize("half", [False, True])
def test_exr_round_trip(tmp_path, half):
    frame = tiny_set().frames[1]
    write_exr(tmp_path / "f.exr", frame, half=half)
    back = read_exr(tmp_path / "f.exr")
    assert back.dtype == np.float32 and back.shape == frame.shape
    np.testing.assert_allclose(back, frame, rtol=1e-3 if half else 0, atol=1e-7 if half else 0)


def test_exr_rgba_half_from_unity():
    frame = read_exr(shared_data("unity-multi", "viid-altlights", "dim.exr"))
    assert frame.shape == (512, 512, 3) and frame.dtype == np.float32


def test_exr_errors(tmp_path):
    with pytest.raises(FormatError, match="missing EXR"):
        read_exr(tmp_path / "nope.exr")
    (tmp_path / "junk.exr").write_bytes(b"\x76\x2f\x31\x01" + b"\0" * 40)
    with pytest.raises(FormatError, match="not a readable EXR") as info:
        read_exr(tmp_path / "junk.exr")
    assert "junk.exr" in str(info.value)
    frame = tiny_set().frames[0].copy()
    frame[2, 3, 1] = np.nan
    write_exr(tmp_path / "nan.exr", frame)
    with pytest.raises(FormatError, match="NaN"):
        read_exr(tmp_path / "nan.exr")


def test_hdr_round_trip_within_rgbe_precision(tmp_path):
    frame = tiny_set(h=9, w=40).frames[3]
    write_hdr(tmp_path / "f.hdr", frame)
    back = read_hdr(tmp_path / "f.hdr")
    peak = frame.max(axis=-1, keepdims=True)
    assert np.all(np.abs(back - frame) <= peak / 128 + 1e-30)


def test_hdr_reads_run_length_scanlines(tmp_path):
    width = 16
    row = bytes([2, 2, 0, width])
    for c, value in enumerate([128, 64, 32, 129]):  # one run per channel
        row += bytes([128 + width, value])
    (tmp_path / "rle.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 16\n" + row * 2)
    frame = read_hdr(tmp_path / "rle.hdr")
    np.testing.assert_allclose(frame[1, 5], np.array([128.5, 64.5, 32.5]) * 2.0 ** (129 - 136))


def test_hdr_errors(tmp_path):
    (tmp_path / "a.hdr").write_bytes(b"P6\n")
    with pytest.raises(FormatError, match="not a Radiance"):
        read_hdr(tmp_path / "a.hdr")
    write_hdr(tmp_path / "b.hdr", tiny_set().frames[0])
    data = (tmp_path / "b.hdr").read_bytes()
    (tmp_path / "b.hdr").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="truncated") as info:
        read_hdr(tmp_path / "b.hdr")
    assert "b.hdr" in str(info.value)
    (tmp_path / "c.hdr").write_bytes(b"#?RADIANCE\n\n-Y 100000 +X 100000\n" + b"\0" * 64)
    with pytest.raises(FormatError, match="does not fit"):
        read_hdr(tmp_path / "c.hdr")


@pytest.mark.parametrize("fmt", ["exr", "hdr"])
def test_sequence_round_trip(tmp_path, fmt):
    lm = tiny_set()
    write_sequence(tmp_path / "seq", lm, fmt=fmt)
    back = read_sequence(tmp_path / "seq")
    np.testing.assert_array_equal(back.times, lm.times)
    np.testing.assert_array_equal(back.masks, lm.masks)
    np.testing.assert_array_equal(back.lamps, lm.lamps)
    peak = lm.frames.max(axis=-1, keepdims=True)
    tol = 0 if fmt == "exr" else peak / 128  # RGBE shares one exponent per texel
    assert np.all(np.abs(back.frames - lm.frames) <= tol)
    assert (back.name, back.level, back.id) == (lm.name, lm.level, lm.id)


def write_manifest(folder, frames, **extra):
    folder.mkdir(exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"frames": frames, **extra}))
    return folder


def test_sequence_errors(tmp_path):
    lm = tiny_set()
    write_exr(tmp_path / "a.exr", lm.frames[0])
    write_exr(tmp_path / "small.exr", lm.frames[0][:5])
    cases = {
        "size mismatch": [{"time": 1, "file": "a.exr"}, {"time": 2, "file": "small.exr"}],
        "missing EXR": [{"time": 1, "file": "gone.exr"}],
        "not a number of hours": [{"time": 30, "file": "a.exr"}],
        "needs 'file'": [{"file": "a.exr"}],
        "duplicate times": [{"time": 1, "file": "a.exr"}, {"time": 1, "file": "a.exr"}],
        "unsupported frame format": [{"time": 1, "file": "a.png"}],
    }
    for problem, frames in cases.items():
        write_manifest(tmp_path, frames)
        with pytest.raises(FormatError, match=problem):
            read_sequence(tmp_path)
    np.save(tmp_path / "m.npy", np.ones((3, 3), bool))
    write_manifest(tmp_path, [{"time": 1, "file": "a.exr"}], mask="m.npy")
    with pytest.raises(FormatError, match="size mismatch: mask"):
        read_sequence(tmp_path)


def test_sequence_without_mask_uses_non_zero_coverage(tmp_path):
    lm = tiny_set()
    write_exr(tmp_path / "a.exr", lm.frames[0])
    write_manifest(tmp_path, [{"time": 3.5, "file": "a.exr", "lamps": False}])
    back = read_sequence(tmp_path / "manifest.json")
    np.testing.assert_array_equal(back.masks[0], (lm.frames[0] != 0).any(-1))
    assert back.lamps.tolist() == [False]


def test_iter_lightmaps_dispatch(tmp_path):
    lm = tiny_set()
    write_hdr(tmp_path / "one.hdr", lm.frames[0])
    write_exr(tmp_path / "two.exr", lm.frames[1])
    assert [s.name for s in iter_lightmaps(tmp_path)] == ["one", "two"]
    with pytest.raises(FormatError, match="no such file"):
        list(iter_lightmaps(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no config.json"):
        list(iter_lightmaps(tmp_path / "empty"))


def test_a_folder_of_images_is_time_sequences_by_name_and_never_one_key(tmp_path):
    lm = tiny_set(times=(6.0, 12.5, 18.0, 21.0))
    for t, frame in zip(lm.times, lm.frames):
        write_exr(tmp_path / f"court_{t:04.1f}.exr", frame)
    write_exr(tmp_path / "hall.exr", lm.frames[0])
    write_exr(tmp_path / "atrium_7.exr", lm.frames[1])  # a time name alone is one frame at t = 0
    sets = list(iter_lightmaps(tmp_path))
    assert [(s.name, s.id, s.times.tolist()) for s in sets] == [
        ("atrium_7", 0, [0.0]), ("court", 1, [6.0, 12.5, 18.0, 21.0]), ("hall", 2, [0.0])]
    assert len({s.key for s in sets}) == 3
    np.testing.assert_array_equal(sets[1].frames, lm.frames)
    assert sets[1].lamps.tolist() == [False, False, False, True]
    write_exr(tmp_path / "court_6.exr", lm.frames[0])
    with pytest.raises(FormatError, match="court_06.0.exr, court_6.exr give 'court' the same time twice"):
        next(iter_lightmaps(tmp_path))
    (tmp_path / "court_6.exr").unlink()
    write_exr(tmp_path / "court_3.exr", lm.frames[0][:4])
    with pytest.raises(FormatError, match="the frames of 'court' differ in size"):
        list(iter_lightmaps(tmp_path))
