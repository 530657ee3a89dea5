"""bench/RESULTS.md and the README's presets table are what `todlm bench-report` renders from
the committed results JSON, so no figure in them can drift from a results file."""

import json
from pathlib import Path

import pytest

from todlm.bench.report import README_BEGIN, README_END, presets_table, render_results, with_presets_table

ROOT = Path(__file__).resolve().parents[1]


def test_results_md_is_rendered_from_the_results_json():
    assert (ROOT / "bench" / "RESULTS.md").read_text() == render_results(ROOT / "bench" / "results"), \
        "run `todlm bench-report` after changing bench/results/"


def test_readme_presets_table_is_rendered_from_full_json():
    readme = (ROOT / "README.md").read_text()
    full = json.loads((ROOT / "bench" / "results" / "full.json").read_text())
    assert presets_table(full) in readme, "run `todlm bench-report` after changing bench/results/full.json"


def _row(method, preset, psnr, **extra):
    return {"method": method, "preset": preset, "dataset": "d", "bpts": 1.0, "ratio": 0.01, "psnr": psnr,
            "ssim": 0.99, "flip": 0.1, "flicker": 0.2, "psnr_unseen": None, "train_s": 3.0, "decode_ms_cpu": 0.5,
            "resident_bytes": 2_000_000, "note": f"note of {preset}", **extra}


def test_a_rendered_suite_shows_each_row_its_config_state_and_notes(tmp_path):
    rows = [_row("astc-hdr", "8x8", 30.0), _row("todlm", "fast", 41.234, config={"model": {}, "train": {}}),
            _row("todlm", "fast-old", 40.0)]
    full = {"suite": "full", "rows": rows, "command": "todlm bench --suite full",
            "datasets": {"d": {"kind": "tod", "width": 8, "height": 4, "times": 26, "unseen_times": 0}},
            "machine": {"cpu": "cpu", "cores": 2, "python": "3"}, "finished": "today", "lpips": "n/a"}
    (tmp_path / "full.json").write_text(json.dumps(full))
    text = render_results(tmp_path)
    assert "| todlm | fast | 1.00 | 0.0100 | 41.23 |" in text and "| stored |" in text
    assert "| todlm | fast-old |" in text and "not recorded" in text and "- `fast-old`: note of fast-old" in text
    table = presets_table(full)
    assert "`fast`" in table and "astc-hdr 8x8" in table and "fast-old" not in table
    readme = f"intro\n{README_BEGIN}\nold\n{README_END}\nrest\n"
    assert with_presets_table(readme, full) == f"intro\n{table}\nrest\n"
    with pytest.raises(ValueError, match="no presets table markers"):
        with_presets_table("no markers here", full)
