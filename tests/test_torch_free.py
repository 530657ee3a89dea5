"""The decoder ships without torch: its tests pass in a process where `import torch` fails (the
CUDA simulator check, test_decoder_kernels.py, always runs that way)."""

import subprocess
import sys
from pathlib import Path

from conftest import torch_blocked_env

DECODER_TESTS = ("test_decoder_kernels.py", "test_decoder_errors.py")


def test_decoder_tests_pass_where_torch_cannot_be_imported(tmp_path):
    env = torch_blocked_env(tmp_path)
    blocked = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env)
    assert blocked.returncode != 0 and "blocked" in blocked.stderr
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not simulator",
                           *DECODER_TESTS], capture_output=True, text=True, env=env, cwd=Path(__file__).parent,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
