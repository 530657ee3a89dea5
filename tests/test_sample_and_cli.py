import json
import subprocess
import sys

import numpy as np

from conftest import run_cli, run_cli_process
from todlm.format import HPRC_TIMES, HPRCDataset, load_sample, read_sequence


def test_bundled_sample_is_a_real_tod_bake():
    s = load_sample()
    assert s.train.frames.shape == (26, 256, 256, 3)
    assert tuple(s.train.times) == HPRC_TIMES
    assert s.unseen.times.tolist() == [0.5, 6.5, 9.25, 12.5, 15.75, 17.5, 18.5, 21.5]
    assert s.bake["engine"] == "CYCLES" and s.bake["samples"] >= 64
    at = lambda t: s.train.frames[list(s.train.times).index(t)]
    assert at(12.0).mean() > 5 * at(0.0).mean() > 0  # the sun dominates the day; lamps light the night
    jump = lambda a, b: np.abs(at(a) - at(b)).max()
    assert jump(5.9, 6.0) > jump(6.0, 7.0)  # the lamps switching off beats an hour of sun
    assert jump(18.0, 18.1) > jump(17.0, 18.0)  # ... and so does their switching on
    assert not s.train.masks[0].all() and (s.train.frames[:, ~s.train.masks[0]] == 0).all()


def test_sample_command_writes_hprc_and_exr(tmp_path):
    result = run_cli("sample", "--hprc", tmp_path / "hprc", "--exr", tmp_path / "exr", "--split", "all")
    assert result.returncode == 0, result.stderr
    (lm,) = list(HPRCDataset(tmp_path / "hprc"))
    seq = read_sequence(tmp_path / "exr")
    assert lm.n_times == seq.n_times == 34
    np.testing.assert_array_equal(lm.frames, seq.frames)
    np.testing.assert_array_equal(lm.frames, load_sample().all_times().frames)
    assert run_cli("sample").returncode == 2


def test_help_lists_every_command():
    result = run_cli("--help")
    for name in ("train", "pack", "unpack", "inspect", "decode", "eval", "bench", "export", "sample", "demo"):
        assert f" {name} " in result.stdout


def test_demo_runs_end_to_end_as_its_own_process(tmp_path):
    """The one CLI test through a real process: the entry point, imports and exit code as a user meets them."""
    result = run_cli_process("demo", "--out", tmp_path / "demo", "--steps", "40", "--no-flip")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert metrics["splits"]["train"]["frames"] == 26 and metrics["splits"]["unseen"]["frames"] == 8
    train = metrics["splits"]["train"]
    assert 0.5 < train["ssim"] < 1.0 and 15 < train["psnr"] < 60 and 0 < train["ratio"] < 0.02
    assert (tmp_path / "demo" / "sample.tlm").is_file()
    assert (tmp_path / "demo" / "contact_sheet_train.png").stat().st_size > 10_000


def test_format_and_metrics_do_not_import_torch():
    code = ("import sys, todlm.format, todlm.metrics, todlm.format.sample, todlm.decoder.api, todlm.decoder.weights, "
            "todlm.decoder.kernel_model, todlm.decoder.reference, todlm.decoder.cpu_backend, todlm.decoder.hprc_export; "
            "todlm.format.load_sample(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_malformed_command_line_is_one_line_and_exit_2(tmp_path):
    for args, named in ((("train", tmp_path, "-o", tmp_path / "x.tlm", "--device", "gpu"), "--device"),
                        (("decode",), "container"), (("nosuch",), "nosuch"),
                        (("decode", tmp_path / "m.tlm", "--time", "x", "-o", tmp_path / "f.exr"), "--time")):
        done = run_cli(*args)
        assert done.returncode == 2 and named in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, (args, done.stderr)
    assert run_cli("--help").returncode == 0 and list(tmp_path.iterdir()) == []
