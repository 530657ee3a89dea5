"""The cached decode time of one frame of a .tlm: the median of 50 frames in a process of its own.
A 256^2 frame takes about 0.15 ms, and on this 2-core VM waking the kernel's thread pool now
and then costs 3-8 ms, so a median of 5 frames once reported 8 ms; right after training, in the
training process, frames also ran 2x slower beside torch's thread pool.

    python -m todlm.bench.frame_time MODEL.tlm   (prints the median milliseconds)
"""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LAPS = np.tile(np.linspace(0.0, 23.5, 5), 10)  # whole hours read one knot plane, the others blend two


def frame_ms(path: Path) -> float:
    """Median milliseconds of `decode_frame` over LAPS, after one warm-up frame."""
    probe = subprocess.run([sys.executable, "-m", "todlm.bench.frame_time", str(path)],
                           capture_output=True, text=True, timeout=600)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{path}: frame timing failed: {last}")
    return float(probe.stdout.split()[-1])


def main() -> None:
    from todlm.decoder.api import Decoder

    decoder = Decoder.open(sys.argv[1])
    out = decoder.decode_frame_host(12.0)
    laps = []
    for t in LAPS:
        start = time.perf_counter()
        decoder.decode_frame(float(t), out=out)
        laps.append(time.perf_counter() - start)
    print(1e3 * float(np.median(laps)))


if __name__ == "__main__":
    main()
