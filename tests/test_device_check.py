"""The prepared GPU check runs to completion in numba's CUDA simulator on tiny sizes, so the few
minutes of a lent GPU are not spent finding out it breaks."""

import json
import os
import subprocess
import sys

from todlm.trainer.run_config import PRESETS


def test_device_check_runs_in_the_simulator(tmp_path):
    out = tmp_path / "gpu.json"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run([sys.executable, "-m", "todlm.bench.device_check", "--tiny", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["gpu"]["simulator"] and result["command"].endswith(f"--tiny --out {out}")
    assert len(result["parity"]) == 2 * len(PRESETS) and all(v["ok"] for v in result["parity"].values())
    speed = result["decode"]["8x4"]
    assert speed["knots_frame_ms"] > 0 and speed["none_frame_ms"] > 0 and speed["knots_random_samples_per_s"] > 0
    assert "failed" not in result["interface"] and "skipped" in result["interface"]  # no CUDA torch here
    training = result["training"]  # rehearsed on the CPU: the same code the GPU will run
    assert training["device"] == "cpu" and set(training["groups"]) == {"1", "2"} and training["best_group"] in (1, 2)
