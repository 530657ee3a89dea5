import json

import numpy as np
import pytest

from conftest import run_cli, shared_data, tiny_set
from todlm.format import FormatError, HPRCDataset, iter_lightmaps, write_hprc


def write_two(tmp_path):
    sets = [tiny_set(), tiny_set(seed=1, level="L_Other", lid=3)]
    return write_hprc(tmp_path / "Data_HPRC", iter(sets)), sets


def test_round_trip_keeps_everything(tmp_path):
    root, sets = write_two(tmp_path)
    ds = HPRCDataset(root)
    assert [(e.level, e.id) for e in ds.entries] == [("L_Tiny", 3), ("L_Other", 3)]
    for original, loaded in zip(sets, ds):
        np.testing.assert_array_equal(original.frames, loaded.frames)
        np.testing.assert_array_equal(original.masks, loaded.masks)
        np.testing.assert_array_equal(original.times, loaded.times)
        np.testing.assert_array_equal(original.lamps, loaded.lamps)
    config = json.loads((root / "config.json").read_text())
    assert set(config["lightmap_list"][0]["lightmaps"]) == {"0", "590", "600", "1200", "1810"}


def test_reader_streams_one_lightmap_at_a_time(tmp_path):
    root, _ = write_two(tmp_path)
    ds = HPRCDataset(root)
    (root / "Data" / next(iter(ds.entries[1].frames.values())).name).unlink()
    it = iter(ds)
    assert next(it).level == "L_Tiny"  # the first loads although the second is broken
    with pytest.raises(FormatError, match="missing"):
        next(it)


def test_writer_refuses_non_empty_output_and_leaves_nothing_on_failure(tmp_path):
    root, _ = write_two(tmp_path)
    with pytest.raises(FormatError, match="not empty"):
        write_hprc(root, [tiny_set()])

    def broken():
        yield tiny_set()
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError):
        write_hprc(tmp_path / "half", broken())
    assert not (tmp_path / "half").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["Data_HPRC"]


def corrupt(root, mutate):
    config = json.loads((root / "config.json").read_text())
    mutate(config, config["lightmap_list"][0])
    (root / "config.json").write_text(json.dumps(config))


def first_frame(root):
    return root / "Data" / json.loads((root / "config.json").read_text())["lightmap_list"][0]["lightmaps"]["0"]


BAD_CONFIGS = {
    "unknown time key": lambda c, e: e["lightmaps"].update({"noon": e["lightmaps"]["0"]}),
    "no mask for time key": lambda c, e: e["masks"].pop("590"),
    "has no frame": lambda c, e: e["masks"].update({"700": e["masks"]["0"]}),
    "lightmap_count": lambda c, e: c.update({"lightmap_count": 5}),
    "bad resolution": lambda c, e: e["resolution"].update({"width": -4}),
    "lacks": lambda c, e: e.pop("level"),
    "bad data file name": lambda c, e: e["lightmaps"].update({"0": "../../etc/passwd"}),
}


@pytest.mark.parametrize("problem", sorted(BAD_CONFIGS))
def test_bad_configs_name_the_config(tmp_path, problem):
    root, _ = write_two(tmp_path)
    corrupt(root, BAD_CONFIGS[problem])
    with pytest.raises(FormatError, match=problem) as info:
        list(HPRCDataset(root))
    assert "config.json" in str(info.value)


def test_size_mismatch_names_the_file(tmp_path):
    root, _ = write_two(tmp_path)
    corrupt(root, lambda c, e: e["resolution"].update({"width": 4096, "height": 4096}))
    with pytest.raises(FormatError, match="size mismatch") as info:
        list(HPRCDataset(root))
    assert "lightmapRawData" in str(info.value)


@pytest.mark.parametrize("value,problem", [(np.nan, "NaN/Inf"), (np.inf, "NaN/Inf"), (-1.0, "negative")])
def test_bad_values_name_the_file(tmp_path, value, problem):
    root, _ = write_two(tmp_path)
    path = first_frame(root)
    data = np.fromfile(path, np.float32)
    data[7] = value
    data.tofile(path)
    with pytest.raises(FormatError, match=problem) as info:
        list(HPRCDataset(root))
    assert path.name in str(info.value)


def test_bad_mask_value_and_missing_config(tmp_path):
    root, _ = write_two(tmp_path)
    mask = root / "Data" / json.loads((root / "config.json").read_text())["lightmap_list"][0]["masks"]["0"]
    data = np.fromfile(mask, np.int8)
    data[0] = 5
    data.tofile(mask)
    with pytest.raises(FormatError, match="neither 127"):
        list(HPRCDataset(root))
    with pytest.raises(FormatError, match="missing HPRC config.json"):
        HPRCDataset(tmp_path / "nowhere")
    (root / "config.json").write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        HPRCDataset(root)


def test_cli_reports_bad_input_in_one_line(tmp_path):
    root, _ = write_two(tmp_path)
    result = run_cli("sample", "--hprc", root)  # refuses to overwrite: a one-line error
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "not empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_reads_the_shared_courtyard():
    root = shared_data("tod", "courtyard", "train")
    (lm,) = list(iter_lightmaps(root))
    assert lm.frames.shape == (26, 512, 512, 3)
    assert lm.lamps.tolist() == [t < 6 or t > 18 for t in lm.times]
