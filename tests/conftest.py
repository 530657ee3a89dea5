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


def run_cli(*args, cwd=None):
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
