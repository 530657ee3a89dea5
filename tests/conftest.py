import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from todlm.format import LightmapSet

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(*parts) -> Path:
    """A file under ../shared/data; tests that need it skip where it is absent (outside CI)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    return path


def run_cli(*args) -> subprocess.CompletedProcess:
    """`todlm ARGS` in this process (typer's CliRunner isolation: no interpreter, torch or numba
    start-up per call), through the console script's own error handling; an exception that would
    escape it is exit 1 with its traceback on stderr, as a process would show it."""
    import traceback

    from typer.testing import CliRunner

    from todlm.cli.app import main

    argv = [str(a) for a in args]
    with CliRunner().isolation() as (stdout, stderr, _):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        except Exception:  # noqa: BLE001 (reported as a process would, for the test to judge)
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return subprocess.CompletedProcess(["todlm", *argv], code, out, err)


TORCH_BLOCKER = '''import sys


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is blocked: the decoder must not need it")


sys.meta_path.insert(0, NoTorch())
'''


def torch_blocked_env(folder: Path, **extra) -> dict:
    """os.environ for a child process in which `import torch` fails (a sitecustomize in `folder`)."""
    import os

    (folder / "sitecustomize.py").write_text(TORCH_BLOCKER)
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]), **extra)


def container_contents(path) -> list:
    """Every lightmap's key, section bytes and metadata but the training seconds (which differ
    between any two runs): what two runs that should write the same file must agree on."""
    from todlm.format.container import Container

    with Container.open(path) as c:
        return [(lm.level, lm.id, {name: bytes(c.read_section(s)) for name, s in lm.sections.items()},
                 {k: v for k, v in lm.metadata.items() if k != "train_seconds"}) for lm in c.lightmaps]


def run_cli_process(*args, cwd=None) -> subprocess.CompletedProcess:
    """`python -m todlm.cli ARGS` in a new process: for the end-to-end test of the real entry point."""
    return subprocess.run([sys.executable, "-m", "todlm.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def tiny_set(times=(0.0, 5.9, 6.0, 12.0, 18.1), h=12, w=20, seed=0, level="L_Tiny", lid=3) -> LightmapSet:
    rng = np.random.default_rng(seed)
    frames = rng.gamma(0.5, 2.0, size=(len(times), h, w, 3)).astype(np.float32)
    masks = np.ones((len(times), h, w), bool)
    masks[:, :, : w // 4] = False
    frames[:, :, : w // 8] = 0.0
    masks[-1, 0, -1] = False  # masks may differ per time
    return LightmapSet(frames, np.array(times), masks, name="tiny", level=level, id=lid)
